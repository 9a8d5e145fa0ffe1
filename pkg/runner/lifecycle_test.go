package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/runner/cgroups"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

func TestExitCodes(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	if err := os.WriteFile(root+"/noexec", []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr error
	}{
		{"exit 0", []string{"true"}, 0, nil},
		{"exit 3", []string{"sh", "-c", "exit 3"}, 3, nil},
		{"child killed by signal", []string{"sh", "-c", "sh -c 'kill -USR1 $$'; exit $?"}, 128 + int(unix.SIGUSR1), nil},
		{"missing command", []string{"no-such-command"}, CodeNotFound, errdefs.ErrNotFound},
		{"missing path", []string{"/bin/no-such"}, CodeNotFound, errdefs.ErrNotFound},
		{"not executable", []string{"/noexec"}, CodeNotExecutable, ErrNotExecutable},
		{"directory", []string{"/bin"}, CodeNotExecutable, ErrNotExecutable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runSpec(t, testID(t), build(t, root, img, rspec.Options{Args: tc.args}), nil, "")
			if r.code != tc.code {
				t.Errorf("exit status %d, want %d (err %v)", r.code, tc.code, r.err)
			}
			if tc.wantErr == nil && r.err != nil {
				t.Errorf("unexpected error %v", r.err)
			}
			if tc.wantErr != nil {
				var ee *errdefs.ExitError
				if !errors.Is(r.err, tc.wantErr) || !errors.As(r.err, &ee) || ee.Code != tc.code {
					t.Errorf("error %v, want *errdefs.ExitError(%d) wrapping %v", r.err, tc.code, tc.wantErr)
				}
			}
		})
	}
}

// TestKilledBySignal: the container's pid 1 killed from the host gives 128+9.
func TestKilledBySignal(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	s := build(t, root, img, rspec.Options{Args: []string{"sleep", "60"}})
	code, err := Run(context.Background(), Config{ID: testID(t), Spec: s, StateDir: t.TempDir(),
		Started: func(pid int) { _ = unix.Kill(pid, unix.SIGKILL) }}, Stdio{})
	if err != nil || code != 128+int(unix.SIGKILL) {
		t.Fatalf("code %d err %v, want 137 and no error (no OOM)", code, err)
	}
}

// readyWriter signals when the container printed "ready".
type readyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), "ready") {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

// TestSignalForwarded: a signal ctr-lite receives reaches the container.
func TestSignalForwarded(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	for _, sig := range []syscall.Signal{unix.SIGTERM, unix.SIGUSR1, unix.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			s := build(t, root, img, sh("trap 'echo got; exit 7' "+strings.TrimPrefix(unix.SignalName(sig), "SIG")+"; echo ready; while :; do sleep 0.05; done"))
			w := &readyWriter{ready: make(chan struct{})}
			go func() {
				<-w.ready
				_ = unix.Kill(os.Getpid(), sig)
			}()
			code, err := Run(context.Background(), Config{ID: testID(t), Spec: s, StateDir: t.TempDir()}, Stdio{Out: w, Err: io.Discard})
			if err != nil || code != 7 || !strings.Contains(w.buf.String(), "got") {
				t.Fatalf("code %d err %v out %q; want the trap to run and exit 7", code, err, w.buf.String())
			}
		})
	}
}

func TestContextCancelKills(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	s := build(t, root, img, rspec.Options{Args: []string{"sleep", "60"}})
	ctx, cancel := context.WithCancel(context.Background())
	code, err := Run(ctx, Config{ID: testID(t), Spec: s, Started: func(int) { cancel() }}, Stdio{})
	if code != 137 || !errors.Is(err, context.Canceled) {
		t.Fatalf("code %d err %v, want 137 and context.Canceled", code, err)
	}
}

func TestMemoryLimit(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	tests := []struct{ name, script string }{
		{"shell string doubling", "x=0123456789abcdef; while :; do x=$x$x; done"},
		{"tmpfs in /dev/shm", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=60 && exec sleep 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := sh(tc.script)
			opts.Memory = 32 << 20
			r := runSpec(t, testID(t), build(t, root, img, opts), nil, "")
			if r.code != CodeOOMKilled || !errors.Is(r.err, ErrOOMKilled) {
				t.Fatalf("code %d err %v stderr %q, want 137 with ErrOOMKilled", r.code, r.err, r.stderr)
			}
		})
	}
}

func TestPidsLimit(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	script := "for i in $(seq 40); do sleep 30 & done; echo started; true"
	tests := []struct {
		name    string
		limit   int64
		stopped bool
	}{
		{"unlimited", 0, false},
		{"limit 10", 10, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := sh(script)
			opts.PidsLimit = tc.limit
			r := runSpec(t, testID(t), build(t, root, img, opts), nil, "")
			stopped := r.code != 0 && strings.Contains(r.stderr, "can't fork") && !strings.Contains(r.stdout, "started")
			if stopped != tc.stopped {
				t.Errorf("fork loop stopped=%v, want %v (code %d out %q err %q)", stopped, tc.stopped, r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestCgroupRemovedAfterExit(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	id := testID(t)
	opts := sh("cat /proc/self/cgroup")
	opts.Memory, opts.PidsLimit, opts.CPUs = 64<<20, 50, 0.5
	cg := CgroupPath("ctr-lite", id)
	var during bool
	var out bytes.Buffer
	code, err := Run(context.Background(), Config{ID: id, Spec: build(t, root, img, opts), StateDir: t.TempDir(),
		Started: func(int) { during = cgroups.Exists(cg) }}, Stdio{Out: &out})
	if err != nil || code != 0 {
		t.Fatalf("run: %d %v", code, err)
	}
	if !during {
		t.Errorf("cgroup %s did not exist while the container ran", cg)
	}
	if cgroups.Exists(cg) {
		t.Errorf("cgroup %s still exists after exit", cg)
	}
	// Inside its cgroup namespace the container sees itself at the root.
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasSuffix(line, ":/") {
			t.Errorf("cgroup namespace leaks the host path: %q", line)
		}
	}
}

// TestChildInItsCgroup: the container's process is in its cgroup in every
// hierarchy (born there: v2, and v1 through a thread of ours that entered
// the cgroup; with a pids limit too), and every thread of ours is back in
// its own cgroups. (A pids limit of 1, where the child is moved in after
// its start, is not run: the Go runtime of the child may need a thread
// once moved, and then dies; cgroups.TestEnter covers the refusal.)
func TestChildInItsCgroup(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int64{0, 10} {
		t.Run("pids limit "+strconv.FormatInt(limit, 10), func(t *testing.T) {
			id := testID(t)
			opts := rspec.Options{Args: []string{"sleep", "30"}, PidsLimit: limit}
			cg := CgroupPath("ctr-lite", id)
			var lines []string
			code, err := Run(context.Background(), Config{ID: id, Spec: build(t, root, img, opts), StateDir: t.TempDir(),
				Started: func(pid int) {
					b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
					lines = strings.Split(strings.TrimSpace(string(b)), "\n")
					_ = unix.Kill(pid, unix.SIGKILL)
				}}, Stdio{})
			if code != 137 || err != nil {
				t.Fatalf("code %d err %v, want 137 (killed)", code, err)
			}
			if len(lines) == 0 {
				t.Fatal("no cgroup read")
			}
			for _, l := range lines {
				if !strings.HasSuffix(l, ":"+cg) && !(l == "0::/" && !cgroups.Unified()) {
					t.Errorf("container cgroup %q, want %s", l, cg)
				}
			}
			tasks, _ := filepath.Glob("/proc/self/task/*/cgroup")
			for _, f := range tasks {
				if b, err := os.ReadFile(f); err == nil && string(b) != string(own) {
					t.Errorf("%s:\n%s\nwant ours:\n%s", f, b, own)
				}
			}
		})
	}
}
