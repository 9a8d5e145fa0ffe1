package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// TestSeccompProfileFromFile: --security-opt seccomp=FILE takes docker's
// format: moby's own default profile runs a container, and a profile that
// denies mkdir makes mkdir fail while the rest works.
func TestSeccompProfileFromFile(t *testing.T) {
	e, bb := busyboxEnv(t)
	moby, err := filepath.Abs("../../pkg/runner/seccomp/testdata/moby-default.json")
	if err != nil {
		t.Fatal(err)
	}
	if out := e.must("run", "--rm", "--security-opt", "seccomp="+moby, bb, "sh", "-c", "mkdir /tmp/d && echo ok"); out != "ok\n" {
		t.Errorf("moby's default profile: %q", out)
	}
	data, err := os.ReadFile(moby)
	if err != nil {
		t.Fatal(err)
	}
	// The same profile with mkdir and mkdirat sent to EPERM.
	deny := strings.Replace(string(data), `"syscalls": [`, `"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},`, 1)
	if deny == string(data) {
		t.Fatal("could not add the deny rule")
	}
	p := filepath.Join(t.TempDir(), "deny-mkdir.json")
	if err := os.WriteFile(p, []byte(deny), 0o644); err != nil {
		t.Fatal(err)
	}
	out := e.must("run", "--rm", "--security-opt", "seccomp="+p, bb, "sh", "-c", "mkdir /tmp/d 2>&1 || echo refused; echo still running")
	if !strings.Contains(out, "Operation not permitted") || !strings.HasSuffix(out, "refused\nstill running\n") {
		t.Errorf("profile denying mkdir: %q", out)
	}
}

// TestRunLimitsAndGroups: --ulimit, --group-add (by name from the image's
// /etc/group, and by id) and --shm-size reach the container's process.
func TestRunLimitsAndGroups(t *testing.T) {
	e, bb := busyboxEnv(t)
	// A group the image names in its /etc/group (its last line).
	groupLines := strings.Split(strings.TrimSpace(e.must("run", "--rm", bb, "cat", "/etc/group")), "\n")
	last := strings.Split(groupLines[len(groupLines)-1], ":")
	if len(last) < 3 || last[2] == "0" {
		t.Fatalf("no usable group in the image's /etc/group: %q", groupLines)
	}
	name, gid := last[0], last[2]
	out := e.must("run", "--rm", "--ulimit", "nofile=123:456", "--group-add", name, "--group-add", "4242",
		"--shm-size", "8m", bb, "sh", "-c", "ulimit -n; ulimit -Hn; id -G; df -k /dev/shm | tail -1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("output: %q", out)
	}
	if lines[0] != "123" || lines[1] != "456" {
		t.Errorf("nofile soft/hard = %s/%s, want 123/456", lines[0], lines[1])
	}
	groups := strings.Fields(lines[2])
	for _, g := range []string{gid, "4242"} {
		if !slices.Contains(groups, g) {
			t.Errorf("groups %v lack %s", groups, g)
		}
	}
	if f := strings.Fields(lines[3]); len(f) < 2 || f[1] != "8192" {
		t.Errorf("/dev/shm: %q, want 8192 1K-blocks", lines[3])
	}
	if r := e.ctl("run", "--rm", "--group-add", "no-such-group", bb, "true"); r.code == 0 {
		t.Errorf("an unknown group was accepted: %s", r)
	}
}

// TestRunDevice: --device makes the host's node inside and lets the
// devices cgroup allow it, with the permissions asked; without it the same
// node made by mknod cannot be opened.
func TestRunDevice(t *testing.T) {
	e, bb := busyboxEnv(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		testutil.Skipf(t, "no /dev/fuse on this host: %v", err)
	}
	tests := []struct {
		name string
		args []string
		sh   string
		want string
	}{
		{"added", []string{"--device", "/dev/fuse"}, "test -c /dev/fuse && exec 3<>/dev/fuse && echo opened", "opened\n"},
		{"not added", nil, "mknod /tmp/f c 10 229 && (exec 3<>/tmp/f) 2>/dev/null && echo opened || echo denied", "denied\n"},
		{"renamed, read only", []string{"--device", "/dev/fuse:/dev/other:r"},
			"(exec 3</dev/other) && echo read; (exec 4<>/dev/other) 2>/dev/null && echo wrote || echo no-write", "read\nno-write\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"run", "--rm"}, tt.args...), bb, "sh", "-c", tt.sh)
			if out := e.must(args...); out != tt.want {
				t.Errorf("%q, want %q", out, tt.want)
			}
		})
	}
	if r := e.ctl("run", "--rm", "--device", "/etc/passwd", bb, "true"); r.code != 2 && r.code != 125 {
		t.Errorf("a non-device was accepted: %s", r)
	}
}
