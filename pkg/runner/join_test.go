package runner

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// running is a container started with Run for the exec tests.
type running struct {
	id, stateDir string
	pid          int
}

// startContainer runs s (a sleeper) in the background until the test
// ends (it is killed then) and returns once its PID 1 is sleep.
func startContainer(t testing.TB, s *specs.Spec) running {
	t.Helper()
	c := running{id: testID(t), stateDir: t.TempDir()}
	pids := make(chan int, 1)
	done := make(chan error, 1)
	var errb bytes.Buffer
	go func() {
		_, err := Run(context.Background(), Config{ID: c.id, Spec: s, StateDir: c.stateDir,
			Started: func(pid int) { pids <- pid }}, Stdio{Out: &errb, Err: &errb})
		done <- err
	}()
	select {
	case c.pid = <-pids:
	case err := <-done:
		t.Fatalf("container exited before it ran: %v\n%s", err, errb.String())
	case <-time.After(20 * time.Second): // a hang guard
		t.Fatal("container did not start")
	}
	t.Cleanup(func() {
		_ = unix.Kill(c.pid, unix.SIGKILL)
		<-done
	})
	// The shell has written /marker once it has become sleep.
	testutil.Eventually(t, "the container's sh to exec sleep", func() bool { return testutil.Comm(c.pid) == "sleep" })
	return c
}

// execIn runs cfg (ID, Pid and StateDir filled in) in c.
func execIn(t *testing.T, c running, cfg ExecConfig, stdin string) result {
	t.Helper()
	fd, err := unix.PidfdOpen(c.pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cfg.ID, cfg.Pid, cfg.Pidfd, cfg.StateDir = c.id, c.pid, fd, c.stateDir
	var out, errb bytes.Buffer
	var in *strings.Reader
	stdio := Stdio{Out: &out, Err: &errb}
	if stdin != "" {
		in = strings.NewReader(stdin)
		stdio.In = in
	}
	code, err := Exec(context.Background(), cfg, stdio)
	return result{code, err, out.String(), errb.String()}
}

// sleeper is a container whose PID 1 is `sleep 300`, after it wrote its
// host name into /marker.
func sleeper(opts rspec.Options) rspec.Options {
	opts.Args = []string{"sh", "-c", "hostname > /marker; exec sleep 300"}
	return opts
}

// confinement are the /proc/<pid>/status lines an exec'd process must
// share with the container's init.
var confinement = []string{"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters"}

func TestExecConfinement(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	tests := []struct {
		name string
		opts rspec.Options
	}{
		{"defaults", rspec.Options{}},
		{"cap-drop and cap-add", rspec.Options{CapDrop: []string{"CHOWN", "KILL", "SETUID"}, CapAdd: []string{"SYS_ADMIN", "NET_ADMIN"}}},
		{"cap-drop ALL", rspec.Options{CapDrop: []string{"ALL"}}},
		{"privileged", rspec.Options{Privileged: true}},
		{"no-new-privileges=false", rspec.Options{SecurityOpt: []string{"no-new-privileges=false"}}},
		{"seccomp unconfined", rspec.Options{SecurityOpt: []string{"seccomp=unconfined"}}},
		{"user 1000 with groups", rspec.Options{User: "1000:1000", GroupAdd: []string{"10", "20"}}},
		{"ulimits", rspec.Options{Ulimits: []string{"nofile=123:456", "nproc=500:600"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := startContainer(t, build(t, root, img, sleeper(tc.opts)))
			r := execIn(t, c, ExecConfig{Args: []string{"sh", "-c",
				"cat /proc/1/status; echo @@; cat /proc/self/status; echo @@; cat /proc/1/limits; echo @@; cat /proc/self/limits"}}, "")
			if r.code != 0 || r.err != nil {
				t.Fatalf("exec: %d %v\n%s", r.code, r.err, r.stderr)
			}
			parts := strings.Split(r.stdout, "@@\n")
			if len(parts) != 4 {
				t.Fatalf("output:\n%s", r.stdout)
			}
			init, self := parts[0], parts[1]
			if statusField(t, init, "Name") != "sleep" {
				t.Fatalf("/proc/1 is %q, not the container's sleep", statusField(t, init, "Name"))
			}
			for _, k := range confinement {
				if a, b := statusField(t, init, k), statusField(t, self, k); a != b {
					t.Errorf("%s: container init %q, exec'd process %q", k, a, b)
				}
			}
			// Every rlimit, soft and hard.
			if parts[2] != parts[3] {
				t.Errorf("rlimits differ:\ninit:\n%s\nexec:\n%s", parts[2], parts[3])
			}
			if len(tc.opts.Ulimits) > 0 && !strings.Contains(parts[3], "Max open files            123                  456") {
				t.Errorf("--ulimit nofile not applied:\n%s", parts[3])
			}
		})
	}
}

func TestExecNamespacesAndCgroup(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	opts := sleeper(rspec.Options{Hostname: "box7", Network: "none"})
	c := startContainer(t, build(t, root, img, opts))
	script := `cat /marker; hostname; echo $$; cat /proc/1/comm
for n in mnt pid uts ipc net cgroup; do [ "$(readlink /proc/1/ns/$n)" = "$(readlink /proc/self/ns/$n)" ] || echo "ns $n differs"; done
[ "$(cat /proc/1/cgroup)" = "$(cat /proc/self/cgroup)" ] || echo cgroup differs
[ "$(cut -d' ' -f1-5 /proc/1/mountinfo)" = "$(cut -d' ' -f1-5 /proc/self/mountinfo)" ] || echo mounts differ
ls /sys/class/net`
	r := execIn(t, c, ExecConfig{Args: []string{"sh", "-c", script}}, "")
	if r.code != 0 || r.err != nil {
		t.Fatalf("exec: %d %v\n%s", r.code, r.err, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 5 || lines[0] != "box7" || lines[1] != "box7" || lines[3] != "sleep" || lines[4] != "lo" {
		t.Fatalf("want the container's marker, host name, PID 1 and only lo; got:\n%s", r.stdout)
	}
	if pid, err := strconv.Atoi(lines[2]); err != nil || pid <= 1 || pid > 100 {
		t.Errorf("exec'd shell's pid %q is not one of the container's pid namespace", lines[2])
	}

	// From the host: while it runs, the exec'd process is in the
	// container's cgroup in every hierarchy, and in its namespaces.
	seen := make(chan string, 1)
	r = execIn(t, c, ExecConfig{Args: []string{"sleep", "1"}, Started: func(pid int) {
		var diff []string
		if a, b := procFile(t, c.pid, "cgroup"), procFile(t, pid, "cgroup"); a != b {
			diff = append(diff, "cgroup:\n"+a+"\nvs\n"+b)
		}
		for _, n := range []string{"mnt", "pid", "uts", "ipc", "net", "cgroup"} {
			a, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(c.pid), "ns", n))
			b, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "ns", n))
			if a != b || a == "" {
				diff = append(diff, n+": "+a+" vs "+b)
			}
		}
		seen <- strings.Join(diff, "\n")
	}}, "")
	if r.code != 0 || r.err != nil {
		t.Fatalf("exec sleep: %d %v", r.code, r.err)
	}
	if d := <-seen; d != "" {
		t.Errorf("exec'd process differs from the container's init:\n%s", d)
	}
	if !strings.Contains(procFile(t, c.pid, "cgroup"), c.id) {
		t.Errorf("init's cgroup does not name the container:\n%s", procFile(t, c.pid, "cgroup"))
	}
	// The thread that forked the exec'd processes (born in the cgroup on
	// v1) is back in ours, as is every other thread.
	own := procFile(t, os.Getpid(), "cgroup")
	tasks, _ := filepath.Glob("/proc/self/task/*/cgroup")
	for _, f := range tasks {
		if b, err := os.ReadFile(f); err == nil && string(b) != own {
			t.Errorf("%s:\n%s\nwant ours:\n%s", f, b, own)
		}
	}
}

func procFile(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExecProcess(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	c := startContainer(t, build(t, root, img, sleeper(rspec.Options{Env: []string{"FROM_RUN=1", "KEEP=run"}, WorkDir: "/etc"})))
	tests := []struct {
		name    string
		cfg     ExecConfig
		stdin   string
		code    int
		out     string
		wantErr error  // wrapped by the *errdefs.ExitError
		msg     string // or, for errors only the child saw, in its message
	}{
		{"container's env, workdir and user", ExecConfig{Args: []string{"sh", "-c", "echo $FROM_RUN $KEEP; pwd; id -u"}}, "", 0, "1 run\n/etc\n0\n", nil, ""},
		{"-e over the container's env", ExecConfig{Args: []string{"sh", "-c", "echo $FROM_RUN $KEEP $NEW"}, Env: []string{"KEEP=exec", "NEW=2"}}, "", 0, "1 exec 2\n", nil, ""},
		{"-w", ExecConfig{Args: []string{"pwd"}, Cwd: "/tmp"}, "", 0, "/tmp\n", nil, ""},
		{"-u 1000", ExecConfig{Args: []string{"id"}, User: "1000"}, "", 0, "uid=1000 gid=0(root)\n", nil, ""},
		{"-u nobody", ExecConfig{Args: []string{"sh", "-c", "id -u; id -g"}, User: "nobody"}, "", 0, "65534\n65534\n", nil, ""},
		{"stdin", ExecConfig{Args: []string{"cat"}}, "piped\n", 0, "piped\n", nil, ""},
		{"exit status", ExecConfig{Args: []string{"false"}}, "", 1, "", nil, ""},
		{"signal", ExecConfig{Args: []string{"sh", "-c", "kill -TERM $$"}}, "", 128 + int(unix.SIGTERM), "", nil, ""},
		{"not found", ExecConfig{Args: []string{"nonexist"}}, "", CodeNotFound, "", errdefs.ErrNotFound, ""},
		{"not executable", ExecConfig{Args: []string{"/etc/passwd"}}, "", CodeNotExecutable, "", ErrNotExecutable, ""},
		{"missing workdir", ExecConfig{Args: []string{"true"}, Cwd: "/nonexistent"}, "", CodeRunnerFailed, "", nil, "chdir to working directory /nonexistent"},
		{"relative workdir", ExecConfig{Args: []string{"true"}, Cwd: "tmp"}, "", CodeRunnerFailed, "", ErrInvalidConfig, ""},
		{"-t with -d", ExecConfig{Args: []string{"true"}, Terminal: true, Detach: true}, "", CodeRunnerFailed, "", ErrInvalidConfig, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := execIn(t, c, tc.cfg, tc.stdin)
			if r.code != tc.code || (tc.out != "" && r.stdout != tc.out) {
				t.Fatalf("want %d %q, got %d %q (err %v, stderr %q)", tc.code, tc.out, r.code, r.stdout, r.err, r.stderr)
			}
			var ee *errdefs.ExitError
			switch {
			case tc.wantErr == nil && tc.msg == "":
				if r.err != nil {
					t.Errorf("unexpected error %v", r.err)
				}
			case !errors.As(r.err, &ee) || ee.Code != tc.code:
				t.Errorf("error %v, want an *errdefs.ExitError(%d)", r.err, tc.code)
			case tc.wantErr != nil && !errors.Is(r.err, tc.wantErr):
				t.Errorf("error %v, want it wrapping %v", r.err, tc.wantErr)
			case tc.msg != "" && !strings.Contains(r.err.Error(), tc.msg):
				t.Errorf("error %v, want %q in it", r.err, tc.msg)
			}
		})
	}
	// Each exec forks from a thread that may have forked the container's
	// init: the container must outlive them all.
	if st := strings.Fields(procFile(t, c.pid, "stat")); st[2] != "S" {
		t.Errorf("container init is in state %s after the execs, want S (sleeping)", st[2])
	}
}

func TestExecTerminal(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	c := startContainer(t, build(t, root, img, sleeper(rspec.Options{})))
	r := execIn(t, c, ExecConfig{Args: []string{"sh", "-c", "tty; echo $TERM; test -t 0 && echo isatty"}, Terminal: true}, "")
	if r.code != 0 || r.err != nil {
		t.Fatalf("exec -t: %d %v", r.code, r.err)
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(r.stdout, "\r", "")), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "/dev/pts/") || lines[1] != "xterm" || lines[2] != "isatty" {
		t.Fatalf("exec -t output %q, want /dev/pts/N, xterm and isatty", r.stdout)
	}
}

func TestExecDetach(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	c := startContainer(t, build(t, root, img, sleeper(rspec.Options{})))
	start := time.Now()
	r := execIn(t, c, ExecConfig{Args: []string{"sh", "-c", "echo started > /det; sleep 3; echo finished >> /det"}, Detach: true}, "")
	took := time.Since(start)
	if r.code != 0 || r.err != nil {
		t.Fatalf("exec -d: %d %v", r.code, r.err)
	}
	if took > 2*time.Second { // the command takes 3 s
		t.Errorf("exec -d waited for the command: %v", took)
	}
	wait := func(want string) {
		t.Helper()
		var got string
		for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			got = execIn(t, c, ExecConfig{Args: []string{"cat", "/det"}}, "").stdout
			if got == want {
				return
			}
		}
		t.Fatalf("/det is %q, want %q", got, want)
	}
	wait("started\n")
	wait("started\nfinished\n")
}

func TestExecRefused(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	t.Run("no saved spec", func(t *testing.T) {
		c := startContainer(t, build(t, root, img, sleeper(rspec.Options{})))
		c.stateDir = t.TempDir()
		r := execIn(t, c, ExecConfig{Args: []string{"true"}}, "")
		if r.code != CodeRunnerFailed || !errors.Is(r.err, errdefs.ErrNotFound) {
			t.Errorf("got %d %v, want 125 and ErrNotFound", r.code, r.err)
		}
	})
	t.Run("process gone", func(t *testing.T) {
		c := startContainer(t, build(t, root, img, sleeper(rspec.Options{})))
		fd, err := unix.PidfdOpen(c.pid, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if err := unix.Kill(c.pid, unix.SIGKILL); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, "the init to be gone", func() bool { return unix.Kill(c.pid, 0) != nil })
		code, err := Exec(context.Background(), ExecConfig{ID: c.id, Pid: c.pid, Pidfd: fd, StateDir: c.stateDir, Args: []string{"true"}}, Stdio{})
		if code != CodeRunnerFailed || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("exec into a dead container: %d %v, want 125 and its namespaces gone", code, err)
		}
	})
	t.Run("other user namespace", func(t *testing.T) {
		testutil.RequireTool(t, "unshare", "util-linux")
		c := startContainer(t, build(t, root, img, sleeper(rspec.Options{})))
		cmd := exec.Command("unshare", "--user", "sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		// unshare runs sleep once the namespace exists.
		testutil.Eventually(t, "unshare to run sleep", func() bool { return testutil.Comm(cmd.Process.Pid) == "sleep" })
		c.pid = cmd.Process.Pid
		r := execIn(t, c, ExecConfig{Args: []string{"true"}}, "")
		if r.code != CodeRunnerFailed || !errors.Is(r.err, errdefs.ErrUnsupported) {
			t.Errorf("got %d %v, want 125 and ErrUnsupported", r.code, r.err)
		}
	})
}

// BenchmarkExecTrue is `exec ID true` into a running busybox container
// (the library call, without ctr-lite's own start-up).
func BenchmarkExecTrue(b *testing.B) {
	testutil.RequireRoot(b)
	root, img := busybox(b)
	s, err := rspec.Build(img, root, sleeper(rspec.Options{}))
	if err != nil {
		b.Fatal(err)
	}
	c := startContainer(b, s)
	fd, err := unix.PidfdOpen(c.pid, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fd)
	cfg := ExecConfig{ID: c.id, Pid: c.pid, Pidfd: fd, StateDir: c.stateDir, Args: []string{"true"}}
	for b.Loop() {
		if code, err := Exec(context.Background(), cfg, Stdio{Err: benchErr()}); code != 0 || err != nil {
			b.Fatalf("exec: %d %v", code, err)
		}
	}
}
