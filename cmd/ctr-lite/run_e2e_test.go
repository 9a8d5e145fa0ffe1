package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// busyboxEnv pulls the corpus busybox image into a fresh root and returns
// the env and the image reference.
func busyboxEnv(t *testing.T) (*env, string) {
	t.Helper()
	testutil.RequireRoot(t)
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	e := newEnv(t)
	e.must("pull", "-q", refs["busybox"])
	return e, refs["busybox"]
}

func TestRunExitStatus(t *testing.T) {
	e, bb := busyboxEnv(t)
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"true", []string{"true"}, 0, ""},
		{"exit 3", []string{"sh", "-c", "exit 3"}, 3, ""},
		{"not found", []string{"no-such-command"}, 127, ""},
		{"not executable", []string{"/etc/passwd"}, 126, ""},
		{"pid 1", []string{"sh", "-c", "echo $$"}, 0, "1\n"},
		{"env, workdir, user", []string{"-e", "FOO=bar", "-w", "/tmp", "-u", "nobody", "sh", "-c", "echo $FOO; pwd; id -u"}, 0, "bar\n/tmp\n65534\n"},
		{"entrypoint", []string{"--entrypoint", "echo", "hello"}, 0, "hello\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"run", "--rm"}, tt.args[:0]...)
			// flags go before the image, the command after it
			var flags, cmd []string
			for i := 0; i < len(tt.args); i++ {
				a := tt.args[i]
				if strings.HasPrefix(a, "-") && len(cmd) == 0 {
					flags = append(flags, a, tt.args[i+1])
					i++
					continue
				}
				cmd = append(cmd, a)
			}
			args = append(append(append(args, flags...), bb), cmd...)
			r := e.ctl(args...)
			if r.code != tt.code || (tt.out != "" && r.out != tt.out) {
				t.Fatalf("want exit %d and output %q: %s", tt.code, tt.out, r)
			}
		})
	}
	if out := e.must("ps", "-aq"); out != "" {
		t.Errorf("--rm left containers: %s", out)
	}
}

func TestRunIsolationDefaults(t *testing.T) {
	e, bb := busyboxEnv(t)
	// On the default network (the bridge, as root) docker's default set,
	// NET_RAW included; on the host's network without NET_RAW.
	for net, caps := range map[string]string{"bridge": "00000000a80425fb", "host": "00000000a80405fb"} {
		status := e.must("run", "--rm", "--network", net, bb, "cat", "/proc/self/status")
		for _, want := range []string{"NoNewPrivs:\t1", "Seccomp:\t2", "CapEff:\t" + caps, "CapBnd:\t" + caps} {
			if !strings.Contains(status, want) {
				t.Errorf("--network %s: /proc/self/status lacks %q", net, want)
			}
		}
	}
	if out := e.must("run", "--rm", "--hostname", "box", bb, "hostname"); out != "box\n" {
		t.Errorf("hostname: %q", out)
	}
	if r := e.ctl("run", "--rm", bb, "sh", "-c", "echo x > /proc/sys/kernel/hostname"); r.code == 0 {
		t.Errorf("/proc/sys is writable: %s", r)
	}
	if _, err := os.Stat("/proc/timer_list"); err == nil {
		if out := e.must("run", "--rm", bb, "cat", "/proc/timer_list"); out != "" {
			t.Errorf("/proc/timer_list is not masked: %d bytes", len(out))
		}
	}
	if out := e.must("run", "--rm", "--network", "none", bb, "ls", "/sys/class/net"); out != "lo\n" {
		t.Errorf("--network none interfaces: %q", out)
	}
	// The container's writes stay in its own upper layer.
	e.must("run", "--name", "w", bb, "sh", "-c", "echo changed > /etc/hostname-test; rm /bin/ls")
	if out := e.must("run", "--rm", bb, "sh", "-c", "ls /etc/hostname-test 2>&1; ls / >/dev/null && echo ls-ok"); !strings.Contains(out, "No such file") || !strings.Contains(out, "ls-ok") {
		t.Errorf("a container's writes leaked into the image: %q", out)
	}
}

func TestRunMountsAndLimits(t *testing.T) {
	e, bb := busyboxEnv(t)
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "in.txt"), []byte("from host\n"), 0o644)
	out := e.must("run", "--rm", "-v", host+":/data", bb, "sh", "-c", "cat /data/in.txt; echo back > /data/out.txt")
	if out != "from host\n" {
		t.Errorf("-v read: %q", out)
	}
	if b, _ := os.ReadFile(filepath.Join(host, "out.txt")); string(b) != "back\n" {
		t.Errorf("-v write: %q", b)
	}
	if r := e.ctl("run", "--rm", "-v", host+":/data:ro", bb, "touch", "/data/x"); r.code == 0 {
		t.Errorf("read-only volume is writable")
	}
	if r := e.ctl("run", "--rm", "--read-only", bb, "touch", "/x"); r.code == 0 {
		t.Errorf("--read-only root is writable")
	}
	if out := e.must("run", "--rm", "--read-only", "--tmpfs", "/scratch", bb, "sh", "-c", "touch /scratch/x && echo ok"); out != "ok\n" {
		t.Errorf("--tmpfs: %q", out)
	}
	r := e.ctl("run", "--rm", "--memory", "32m", bb, "sh", "-c", "x=0123456789; while true; do x=$x$x; done")
	if r.code != 137 {
		t.Errorf("memory limit: %s", r)
	}
	r = e.ctl("run", "--rm", "--pids-limit", "20", bb, "sh", "-c", "for i in $(seq 50); do sleep 5 & done; wait")
	if r.code == 0 || !strings.Contains(r.err+r.out, "fork") && !strings.Contains(r.err+r.out, "resource") {
		t.Logf("pids limit output: %s", r)
	}
	if r.code == 0 {
		t.Errorf("pids limit let 50 processes start")
	}
}

func TestContainerLifecycle(t *testing.T) {
	e, bb := busyboxEnv(t)
	if r := e.ctl("run", "--name", "done", bb, "sh", "-c", "exit 4"); r.code != 4 {
		t.Fatalf("run: %s", r)
	}
	if ps := e.must("ps", "-a"); !strings.Contains(ps, "Exited (4)") || !strings.Contains(ps, "done") {
		t.Errorf("ps -a:\n%s", ps)
	}
	if ps := e.must("ps"); strings.Contains(ps, "done") {
		t.Errorf("ps without -a lists an exited container:\n%s", ps)
	}
	if r := e.ctl("run", "--name", "done", bb, "true"); r.code != 125 || !strings.Contains(r.err, "done") {
		t.Errorf("a second container with the same name: %s", r)
	}
	// gc keeps snapshots a container uses even after its image is gone.
	e.must("rmi", bb)
	e.must("gc")
	snaps, _ := os.ReadDir(filepath.Join(e.root, "snapshots"))
	if len(snaps) != 1 {
		t.Errorf("gc removed the snapshot of an existing container: %d left", len(snaps))
	}
	e.must("rm", "done")
	e.must("gc")
	if snaps, _ := os.ReadDir(filepath.Join(e.root, "snapshots")); len(snaps) != 0 {
		t.Errorf("gc left %d snapshots nothing uses", len(snaps))
	}
	e.fsckClean()
}

func TestRunSignalsAndKill(t *testing.T) {
	e, bb := busyboxEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A signal to ctr-lite reaches the container's process. The shell is
	// PID 1, which ignores a TERM it has no trap for: wait until it says
	// the trap is set.
	cmd := e.bin(ctx, "run", "--rm", bb, "sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done")
	var out lockedBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the condition", func() bool { return strings.Contains(out.String(), "ready") })
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 {
		t.Errorf("SIGTERM forwarded: exit %d, want 42 from the trap", code)
	}
	// ctr-lite kill signals a container started elsewhere.
	cmd = e.bin(ctx, "run", "--name", "sleeper", bb, "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the condition", func() bool { return strings.Contains(e.must("ps"), "sleeper") })
	e.must("kill", "sleeper", "KILL")
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 137 {
		t.Errorf("after kill KILL: exit %d, want 137", code)
	}
	if ps := e.must("ps", "-a"); !strings.Contains(ps, "Exited (137)") {
		t.Errorf("ps -a after kill:\n%s", ps)
	}
}

func TestRunPullsMissingImageAndBundles(t *testing.T) {
	testutil.RequireRoot(t)
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	e := newEnv(t)
	release, want := testutil.AlpineRelease(t)
	if out := e.must("run", "--rm", refs["alpine"], "cat", release); out != want {
		t.Errorf("run of an image not yet stored: %q", out)
	}
	if out := e.must("run", "--rm", "--runtime", "runc", refs["alpine"], "sh", "-c", "echo via runc"); out != "via runc\n" {
		t.Errorf("--runtime runc: %q", out)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	e.must("bundle", refs["alpine"], dir, "echo", "bundled")
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "rootfs", release)); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer is a bytes.Buffer a child process writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRunFallsBackToCopiedRootfs: where overlayfs cannot be mounted (the
// probe's answer is cached in the root), run copies the rootfs and says so.
func TestRunFallsBackToCopiedRootfs(t *testing.T) {
	e, bb := busyboxEnv(t)
	if err := os.WriteFile(filepath.Join(e.root, "overlay-probe"), []byte("mount overlay: operation not permitted (test)"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.ctl("run", "--rm", bb, "sh", "-c", "echo hi > /tmp/x && cat /tmp/x")
	if r.code != 0 || r.out != "hi\n" {
		t.Fatalf("run on a copied rootfs: %s", r)
	}
	if !strings.Contains(r.err, "overlayfs cannot be mounted here") || strings.Count(r.err, "overlayfs") != 1 {
		t.Errorf("the fallback should be said once: %q", r.err)
	}
	if r := e.ctl("run", "--rm", bb, "cat", "/tmp/x"); r.code == 0 {
		t.Errorf("a copied rootfs leaked into the next container: %s", r)
	}
}
