package main

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/container"
)

// importBusybox imports the busybox test image into a fresh root and
// returns the env and the name it was stored under.
func importBusybox(t *testing.T) (*env, string) {
	t.Helper()
	testutil.RequireRoot(t)
	e := newEnv(t)
	out := e.must("import", testutil.ImageLayout(t, testutil.Busybox))
	name, _, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(out), "imported "), ": ")
	if !ok {
		t.Fatalf("import printed %q", out)
	}
	return e, name
}

// startSleeper runs `ctr-lite run --name NAME FLAGS... IMAGE sh -c
// 'SCRIPT; exec sleep 300'` with the built binary in the background, as a
// user would in another terminal, and returns its init's pid once that is
// sleep. The container is killed and removed when the test ends.
func (e *env) startSleeper(name string, flags []string, img, script string) int {
	e.t.Helper()
	args := append(append([]string{"run", "--name", name}, flags...), img, "sh", "-c", script+"; exec sleep 300")
	cmd := e.bin(context.Background(), args...)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		e.ctl("kill", name)
		_ = cmd.Wait()
		e.ctl("rm", "-f", name)
	})
	var pid int
	testutil.Eventually(e.t, "container "+name+" to run sleep", func() bool {
		for _, c := range e.psRecords() {
			if c.Name == name && c.Status == container.Running && testutil.Comm(c.Pid) == "sleep" {
				pid = c.Pid
				return true
			}
		}
		return false
	})
	return pid
}

func TestExecConfinementE2E(t *testing.T) {
	e, bb := importBusybox(t)
	tests := []struct {
		name  string
		flags []string
	}{
		{"defaults", nil},
		{"cap-drop ALL, cap-add", []string{"--cap-drop", "ALL", "--cap-add", "CHOWN", "--cap-add", "SETUID"}},
		{"privileged", []string{"--privileged"}},
		{"no seccomp, no no_new_privs", []string{"--security-opt", "seccomp=unconfined", "--security-opt", "no-new-privileges=false"}},
		{"user 1000", []string{"-u", "1000:1000", "--group-add", "10"}},
		{"network none, ulimit", []string{"--network", "none", "--ulimit", "nofile=100:200"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "conf" + strconv.Itoa(i)
			e.startSleeper(name, tc.flags, bb, "true")
			out := e.must("exec", name, "sh", "-c", "cat /proc/1/status; echo @@; cat /proc/self/status; echo @@; cat /proc/1/limits; echo @@; cat /proc/self/limits")
			parts := strings.Split(out, "@@\n")
			if len(parts) != 4 {
				t.Fatalf("output:\n%s", out)
			}
			if field(parts[0], "Name") != "sleep" {
				t.Fatalf("PID 1 is %q, not the container's sleep", field(parts[0], "Name"))
			}
			for _, k := range []string{"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters"} {
				init, self := field(parts[0], k), field(parts[1], k)
				if init == "" || init != self {
					t.Errorf("%s: container's PID 1 %q, exec'd process %q", k, init, self)
				}
			}
			if parts[2] != parts[3] {
				t.Errorf("rlimits differ:\nPID 1:\n%s\nexec:\n%s", parts[2], parts[3])
			}
		})
	}
}

// field is the value of "Key:\tvalue" in a /proc status file.
func field(status, key string) string {
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			v = strings.TrimSpace(v)
			if v == "" {
				return "(empty)"
			}
			return v
		}
	}
	return ""
}

func TestExecE2E(t *testing.T) {
	e, bb := importBusybox(t)
	e.startSleeper("web", []string{"--hostname", "box9", "-e", "FROM_RUN=1", "-w", "/etc"}, bb, "echo written > /marker")
	tests := []struct {
		name       string
		flags, cmd []string
		stdin      string
		code       int
		out        string
	}{
		{"pid namespace", nil, []string{"cat", "/proc/1/cmdline"}, "", 0, "sleep\x00300\x00"},
		{"not PID 1", nil, []string{"sh", "-c", `[ $$ != 1 ] && echo ok`}, "", 0, "ok\n"},
		{"mount tree", nil, []string{"cat", "/marker"}, "", 0, "written\n"},
		{"hostname", nil, []string{"hostname"}, "", 0, "box9\n"},
		{"namespaces", nil, []string{"sh", "-c", `for n in mnt pid uts ipc net cgroup; do [ "$(readlink /proc/1/ns/$n)" = "$(readlink /proc/self/ns/$n)" ] && echo -n "$n "; done`}, "", 0, "mnt pid uts ipc net cgroup "},
		{"cgroup", nil, []string{"sh", "-c", `[ "$(cat /proc/1/cgroup)" = "$(cat /proc/self/cgroup)" ] && echo same`}, "", 0, "same\n"},
		{"env and workdir of the container", nil, []string{"sh", "-c", "echo $FROM_RUN; pwd"}, "", 0, "1\n/etc\n"},
		{"-e -w", []string{"-e", "FOO=bar", "-e", "FROM_RUN=2", "-w", "/tmp"}, []string{"sh", "-c", "echo $FOO $FROM_RUN; pwd"}, "", 0, "bar 2\n/tmp\n"},
		{"-u 1000", []string{"-u", "1000"}, []string{"id", "-u"}, "", 0, "1000\n"},
		{"-u nobody gets its HOME", []string{"-u", "nobody"}, []string{"sh", "-c", "id -u; echo $HOME; grep ^nobody: /etc/passwd | cut -d: -f6"}, "", 0, ""},
		{"-i", []string{"-i"}, []string{"cat"}, "piped\n", 0, "piped\n"},
		{"no -i: stdin is empty", nil, []string{"cat"}, "not passed\n", 0, ""},
		{"false", nil, []string{"false"}, "", 1, ""},
		{"exit 7", nil, []string{"sh", "-c", "exit 7"}, "", 7, ""},
		{"not found", nil, []string{"nonexist"}, "", 127, ""},
		{"not executable", nil, []string{"/etc/passwd"}, "", 126, ""},
		{"-d with -t", []string{"-d", "-t"}, []string{"true"}, "", 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append(append([]string{"exec"}, tc.flags...), "web"), tc.cmd...)
			r := e.ctlIn(tc.stdin, args...)
			if r.code != tc.code || r.out != tc.out && tc.out != "" {
				t.Fatalf("want exit %d and %q: %s", tc.code, tc.out, r)
			}
			switch tc.name {
			case "-u nobody gets its HOME":
				lines := strings.Split(strings.TrimSpace(r.out), "\n")
				if len(lines) != 3 || lines[0] != "65534" || lines[1] != lines[2] || lines[1] == "" {
					t.Errorf("want uid 65534 and HOME from /etc/passwd: %q", r.out)
				}
			case "no -i: stdin is empty":
				if r.out != "" {
					t.Errorf("stdin reached the command without -i: %q", r.out)
				}
			}
		})
	}
}

func TestExecTerminalDetachE2E(t *testing.T) {
	e, bb := importBusybox(t)
	e.startSleeper("box", nil, bb, "true")
	r := e.ctl("exec", "-t", "box", "tty")
	if out := strings.TrimRight(r.out, "\r\n"); r.code != 0 || !strings.HasPrefix(out, "/dev/pts/") {
		t.Fatalf("exec -t tty: %s", r)
	}
	start := time.Now()
	r = e.ctl("exec", "-d", "box", "sh", "-c", "echo started > /det; sleep 3; echo finished >> /det")
	if r.code != 0 || r.out != "" {
		t.Fatalf("exec -d: %s", r)
	}
	if took := time.Since(start); took > 2*time.Second { // the command takes 3 s
		t.Errorf("exec -d waited for its command: %v", took)
	}
	for _, want := range []string{"started\n", "started\nfinished\n"} {
		var got string
		for end := time.Now().Add(15 * time.Second); time.Now().Before(end) && got != want; time.Sleep(50 * time.Millisecond) {
			got = e.ctl("exec", "box", "cat", "/det").out
		}
		if got != want {
			t.Fatalf("the detached command wrote %q, want %q", got, want)
		}
	}
}

func TestExecRefusedE2E(t *testing.T) {
	e, bb := importBusybox(t)
	e.must("run", "--name", "stopped", bb, "true")
	e.startSleeper("up", nil, bb, "true")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"stopped", []string{"stopped", "true"}, "not running"},
		{"unknown", []string{"nosuch", "true"}, "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.ctl(append([]string{"exec"}, tc.args...)...)
			if r.code != 125 || strings.Count(r.err, "\n") != 1 || !strings.Contains(r.err, tc.want) {
				t.Errorf("want exit 125 and one line with %q: %s", tc.want, r)
			}
		})
	}
	// Completion offers the running container, not the stopped one.
	r := e.ctl("__complete", "exec", "")
	if !strings.Contains(r.out, "up\n") || strings.Contains(r.out, "stopped\n") {
		t.Errorf("completion of exec: %s", r)
	}
	help := e.must("exec", "--help")
	for _, want := range []string{"Examples:", "ctr-lite exec -it web sh", "--user", "--workdir", "--detach"} {
		if !strings.Contains(help, want) {
			t.Errorf("exec --help lacks %q", want)
		}
	}
}

func TestExecSignalsE2E(t *testing.T) {
	e, bb := importBusybox(t)
	e.startSleeper("sig", nil, bb, "true")
	// SIGTERM to `ctr-lite exec` reaches the command, whose status it exits with.
	cmd := e.bin(context.Background(), "exec", "sig", "sh", "-c", `trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.1; done`)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(stdout)
	if line, err := rd.ReadString('\n'); line != "ready\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("exec printed %q (%v), want ready", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(rd)
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 3 || string(rest) != "got TERM\n" {
		t.Errorf("exec after SIGTERM: exit %d (%v), output %q; want 3 and the trap's line", code, err, rest)
	}

	// A killed `ctr-lite exec` leaves nothing running in the container.
	cmd = e.bin(context.Background(), "exec", "sig", "sleep", "123")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sleeping := func() bool {
		return strings.Contains(e.ctl("exec", "sig", "ps", "-o", "args").out, "sleep 123")
	}
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end) && !sleeping(); {
		time.Sleep(20 * time.Millisecond)
	}
	if !sleeping() {
		t.Fatal("exec'd sleep 123 never ran")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end) && sleeping(); {
		time.Sleep(20 * time.Millisecond)
	}
	if sleeping() {
		t.Errorf("the command outlived its killed ctr-lite exec")
	}
}

// The command gets the init's rlimits, not those of the `ctr-lite exec`
// that starts it. (Soft limits only: raising a hard one needs
// CAP_SYS_RESOURCE, which some hosts' root lacks; exec then keeps its own.)
func TestExecLimitsE2E(t *testing.T) {
	prlimit := testutil.RequireTool(t, "prlimit", "util-linux")
	e, bb := importBusybox(t)
	e.startSleeper("lim", []string{"--ulimit", "nproc=900:1000"}, bb, "true")
	args := append([]string{"--nofile=200:", "--core=0:", "--stack=4000000:", binPath, "--root", e.root, "--config", e.config},
		"exec", "lim", "sh", "-c", "cat /proc/1/limits; echo @@; cat /proc/self/limits")
	out, err := exec.Command(prlimit, args...).Output()
	if err != nil {
		t.Fatalf("prlimit ... ctr-lite exec: %v", err)
	}
	parts := strings.Split(string(out), "@@\n")
	if len(parts) != 2 || parts[0] != parts[1] {
		t.Fatalf("the exec'd process's limits are not PID 1's:\n%s", out)
	}
	if !strings.Contains(parts[1], "Max processes             900                  1000") {
		t.Errorf("--ulimit nproc of the container is not the command's:\n%s", parts[1])
	}
}
