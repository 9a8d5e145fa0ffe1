package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"

	"github.com/moby/sys/capability"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// capMask is the /proc/<pid>/status hex mask of the named capabilities.
func capMask(names []string) string {
	var m uint64
	for _, c := range capList(names) {
		m |= 1 << uint(c)
	}
	return fmt.Sprintf("%016x", m)
}

func statusField(t *testing.T, status, key string) string {
	t.Helper()
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in status:\n%s", key, status)
	return ""
}

func TestIsolation(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	allowedMounts := []string{"/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
		"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}
	tests := []struct {
		name   string
		opts   rspec.Options
		script string
		check  func(t *testing.T, id string, r result)
	}{
		{"pid1 and process list", rspec.Options{}, "echo $$; ps -o pid,comm; true", func(t *testing.T, _ string, r result) {
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if lines[0] != "1" {
				t.Errorf("shell pid = %q, want 1", lines[0])
			}
			// Header, then only the shell (pid 1) and ps itself.
			if len(lines) != 4 || strings.Join(strings.Fields(lines[2]), " ") != "1 sh" || !strings.HasSuffix(lines[3], " ps") {
				t.Errorf("process list is not just sh and ps:\n%s", r.stdout)
			}
		}},
		{"hostname default is short id", rspec.Options{}, "hostname; cat /etc/hostname", func(t *testing.T, id string, r result) {
			want := shortID(id) + "\n" + shortID(id) + "\n"
			if r.stdout != want {
				t.Errorf("hostname output %q, want %q", r.stdout, want)
			}
		}},
		{"hostname flag", rspec.Options{Hostname: "box1"}, "hostname; grep -c box1 /etc/hosts", func(t *testing.T, _ string, r result) {
			if r.stdout != "box1\n1\n" {
				t.Errorf("output %q, want box1 and one hosts entry", r.stdout)
			}
		}},
		{"no host mount visible", rspec.Options{}, "awk '{print $5}' /proc/self/mountinfo", func(t *testing.T, _ string, r result) {
			for _, mp := range strings.Fields(r.stdout) {
				ok := false
				for _, a := range allowedMounts {
					if mp == a || strings.HasPrefix(mp, "/sys/fs/cgroup/") || strings.HasPrefix(mp, "/proc/") || strings.HasPrefix(mp, "/sys/firmware") || strings.HasPrefix(mp, "/sys/devices/") {
						ok = true
					}
				}
				if !ok {
					t.Errorf("unexpected mount %q inside the container", mp)
				}
			}
		}},
		{"capabilities, no_new_privs, seccomp", rspec.Options{}, "cat /proc/self/status", func(t *testing.T, _ string, r result) {
			want := capMask(rspec.Defaults("host"))
			for _, k := range []string{"CapEff", "CapPrm", "CapBnd"} {
				if got := statusField(t, r.stdout, k); got != want {
					t.Errorf("%s = %s, want %s (docker default set, less NET_RAW on the host network)", k, got, want)
				}
			}
			if got := statusField(t, r.stdout, "CapAmb"); got != capMask(nil) {
				t.Errorf("CapAmb = %s, want 0", got)
			}
			if got := statusField(t, r.stdout, "NoNewPrivs"); got != "1" {
				t.Errorf("NoNewPrivs = %s", got)
			}
			if got := statusField(t, r.stdout, "Seccomp"); got != "2" {
				t.Errorf("Seccomp = %s", got)
			}
		}},
		{"cap-add and cap-drop", rspec.Options{CapAdd: []string{"sys_admin"}, CapDrop: []string{"CAP_CHOWN"}}, "cat /proc/self/status", func(t *testing.T, _ string, r result) {
			caps, _ := capabilityNames(rspec.Defaults("host"), "CAP_CHOWN", "CAP_SYS_ADMIN")
			if got := statusField(t, r.stdout, "CapBnd"); got != capMask(caps) {
				t.Errorf("CapBnd = %s, want %s", got, capMask(caps))
			}
		}},
		{"privileged", rspec.Options{Privileged: true}, "cat /proc/self/status", func(t *testing.T, _ string, r result) {
			if got := statusField(t, r.stdout, "Seccomp"); got != "0" {
				t.Errorf("Seccomp = %s, want 0 when privileged", got)
			}
			if got := statusField(t, r.stdout, "NoNewPrivs"); got != "0" {
				t.Errorf("NoNewPrivs = %s, want 0 when privileged", got)
			}
		}},
		{"masked paths read empty", rspec.Options{}, "cat /proc/timer_list | wc -c; cat /proc/interrupts | wc -c; ls /sys/firmware | wc -l", func(t *testing.T, _ string, r result) {
			if f := strings.Fields(r.stdout); len(f) != 3 || f[0] != "0" || f[1] != "0" || f[2] != "0" {
				t.Errorf("masked paths not empty: %q", r.stdout)
			}
		}},
		{"proc sys read-only", rspec.Options{}, "echo 1 > /proc/sys/kernel/ns_last_pid && echo WROTE; echo $(cat /proc/sys/kernel/ostype)", func(t *testing.T, _ string, r result) {
			if strings.Contains(r.stdout, "WROTE") || !strings.Contains(r.stdout, "Linux") {
				t.Errorf("/proc/sys writable or unreadable: %q %q", r.stdout, r.stderr)
			}
		}},
		{"sysrq-trigger read-only", rspec.Options{}, "echo h > /proc/sysrq-trigger && echo WROTE; true", func(t *testing.T, _ string, r result) {
			if strings.Contains(r.stdout, "WROTE") {
				t.Errorf("/proc/sysrq-trigger writable")
			}
		}},
		{"mount is refused", rspec.Options{}, "mount -t tmpfs none /mnt && echo MOUNTED; umount /proc && echo UNMOUNTED; true", func(t *testing.T, _ string, r result) {
			if strings.Contains(r.stdout, "MOUNTED") {
				t.Errorf("mount allowed inside the container: %q", r.stdout)
			}
		}},
		{"network none has only lo, up", rspec.Options{Network: "none"}, "ls /sys/class/net; cat /sys/class/net/lo/flags", func(t *testing.T, _ string, r result) {
			f := strings.Fields(r.stdout)
			if len(f) != 2 || f[0] != "lo" {
				t.Fatalf("interfaces: %q", r.stdout)
			}
			flags, err := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 32)
			if err != nil || flags&1 == 0 {
				t.Errorf("lo not up: flags %s", f[1])
			}
		}},
		{"no descriptor leaks in", rspec.Options{}, "ls /proc/$$/fd; true", func(t *testing.T, _ string, r result) {
			if got := strings.Join(strings.Fields(r.stdout), " "); got != "0 1 2" {
				t.Errorf("container pid 1 has fds %q, want only 0 1 2", got)
			}
		}},
		{"dev has only the standard nodes", rspec.Options{}, "ls /dev", func(t *testing.T, _ string, r result) {
			want := "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero"
			if got := strings.Join(strings.Fields(r.stdout), " "); got != want {
				t.Errorf("/dev = %q, want %q", got, want)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := testID(t)
			opts := tc.opts
			opts.Args = []string{"sh", "-c", tc.script}
			r := runSpec(t, id, build(t, root, img, opts), nil, "")
			if r.err != nil {
				t.Fatalf("run: code %d, %v; stderr %s", r.code, r.err, r.stderr)
			}
			tc.check(t, id, r)
		})
	}
}

func capabilityNames(base []string, drop, add string) ([]string, error) {
	var out []string
	for _, c := range base {
		if c != drop {
			out = append(out, c)
		}
	}
	_ = capability.CAP_CHOWN
	return append(out, add), nil
}

// TestCannotWriteOutside tries the usual ways out of the rootfs and checks
// the host directory around it is untouched.
func TestCannotWriteOutside(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	parent := filepath.Dir(root)
	sentinel := filepath.Join(parent, "sentinel")
	if err := os.WriteFile(sentinel, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A symlink in the image pointing out: mounts must stay inside.
	if err := os.Symlink("/../../../../"+filepath.Base(parent), filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	script := `echo pwn > /../sentinel; echo pwn > ../../sentinel; echo pwn > /escape/sentinel;
cd /proc/1/root/.. && echo pwn > sentinel; echo pwn > /proc/1/cwd/../../sentinel; ls / >/dev/null; true`
	opts := sh(script)
	opts.Volumes = []string{parent + "/none-such:/escape/vol"}
	s := build(t, root, img, sh(script))
	r := runSpec(t, testID(t), s, nil, "")
	if r.err != nil {
		t.Fatalf("run: %v", r.err)
	}
	if b, _ := os.ReadFile(sentinel); string(b) != "keep" {
		t.Errorf("sentinel outside the rootfs changed: %q", b)
	}
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		if e.Name() != "rootfs" && e.Name() != "sentinel" {
			t.Errorf("container created %s outside its rootfs", e.Name())
		}
	}
}

// TestMountTargetSymlink: a tmpfs whose target is an absolute symlink
// pointing out of the rootfs lands inside it (CVE-2021-30465 class).
func TestMountTargetSymlink(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	opts := sh("touch /link/inside && echo ok")
	opts.Tmpfs = []string{"/link"}
	r := runSpec(t, testID(t), build(t, root, img, opts), nil, "")
	if r.err != nil || r.stdout != "ok\n" {
		t.Fatalf("run: %v %q %q", r.err, r.stdout, r.stderr)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("mount followed the symlink out of the rootfs: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(root, outside)); err != nil {
		t.Errorf("mount target was not created inside the rootfs: %v", err)
	}
}

// TestMountTargetEscapes: a relative symlink climbing with ../.. out of
// the rootfs lands inside it, and a symlink loop fails the run without
// mounting anything.
func TestMountTargetEscapes(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	outside := t.TempDir()
	rel := strings.Repeat("../", 32) + strings.TrimPrefix(outside, "/")
	for name, target := range map[string]string{"up": rel, "loop": "loop2", "loop2": "loop"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	opts := sh("touch /up/inside && echo ok")
	opts.Tmpfs = []string{"/up"}
	r := runSpec(t, testID(t), build(t, root, img, opts), nil, "")
	if r.err != nil || r.stdout != "ok\n" {
		t.Fatalf("run: %v %q %q", r.err, r.stdout, r.stderr)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("mount followed ../.. out of the rootfs: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(root, outside)); err != nil {
		t.Errorf("mount target was not created inside the rootfs: %v", err)
	}
	opts = sh("echo ran")
	opts.Tmpfs = []string{"/loop/x"}
	r = runSpec(t, testID(t)+"-loop", build(t, root, img, opts), nil, "")
	var xe *errdefs.ExitError
	if !errors.As(r.err, &xe) || xe.Code != CodeRunnerFailed || !strings.Contains(r.err.Error(), "too many levels of symbolic links") {
		t.Errorf("run through a symlink loop: %v (stdout %q), want exit 125 with ELOOP", r.err, r.stdout)
	}
}

// TestSeccompBlocks: the default filter refuses what the capabilities
// alone would allow (an unprivileged user namespace), and only the filter.
func TestSeccompBlocks(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	tests := []struct {
		name    string
		filter  bool
		allowed bool
	}{
		{"default filter", true, false},
		{"no filter", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := build(t, root, img, sh("unshare -U true && echo ALLOWED; true"))
			if !tc.filter {
				s.Linux.Seccomp = nil
			}
			r := runSpec(t, testID(t), s, nil, "")
			if r.err != nil || r.code != 0 { // 0: the script ran (a child that died before exec is not a block)
				t.Fatalf("code %d err %v stderr %q", r.code, r.err, r.stderr)
			}
			if got := strings.Contains(r.stdout, "ALLOWED"); got != tc.allowed {
				t.Errorf("new user namespace allowed=%v, want %v (stderr %q)", got, tc.allowed, r.stderr)
			}
		})
	}
}
