package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/container"
	"golang.org/x/sys/unix"
)

// Commands that start a monitor (run -d, start, attach) run the built
// binary: the monitor re-executes the binary it runs in.

// run runs the binary to its end; a run still going after 60 s fails the
// test.
func (e *env) run(args ...string) binResult {
	e.t.Helper()
	r := e.runBin(60*time.Second, args...)
	if r.hung {
		e.t.Fatalf("ctr-lite %s: still running after 60s: %s", strings.Join(args, " "), r)
	}
	return r
}

// detached runs `run -d ARGS` and returns the container id.
func (e *env) detached(args ...string) string {
	e.t.Helper()
	r := e.run(append([]string{"run", "-d"}, args...)...)
	id := strings.TrimSpace(r.out)
	if r.code != 0 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		e.t.Fatalf("run -d %s: %s", strings.Join(args, " "), r)
	}
	return id
}

// record is the container's ps --json entry (nil when there is none).
func (e *env) record(id string) *container.Container {
	e.t.Helper()
	list := e.psRecords()
	for i := range list {
		if list[i].ID == id || list[i].Name == id {
			return &list[i]
		}
	}
	return nil
}

// lifecycleEnv is busyboxEnv whose containers are all removed at the end.
func lifecycleEnv(t *testing.T) (*env, string) {
	e, bb := busyboxEnv(t)
	t.Cleanup(func() {
		ids := strings.Fields(e.ctl("ps", "-aq").out)
		if len(ids) > 0 {
			e.ctl(append([]string{"rm", "-f"}, ids...)...)
		}
	})
	return e, bb
}

func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && len(b) > i+2 && b[i+2] != 'Z'
}

var criRecord = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (stdout|stderr) [FP] `)

func TestDetachedRunLogsWait(t *testing.T) {
	e, bb := lifecycleEnv(t)

	t.Run("run -d returns while it runs", func(t *testing.T) {
		r := e.run("run", "-d", "--name", "sleeper", bb, "sleep", "1000")
		if r.code != 0 || r.took > 10*time.Second {
			t.Fatalf("run -d: %s", r)
		}
		c := e.record("sleeper")
		if c == nil || c.ID != strings.TrimSpace(r.out) || c.Status != container.Running || !pidAlive(c.Pid) || !pidAlive(c.MonitorPid) {
			t.Fatalf("record after run -d: %+v", c)
		}
		if c.MonitorPid == os.Getpid() || c.MonitorPid == c.Pid {
			t.Errorf("monitor pid %d is not its own process", c.MonitorPid)
		}
	})

	t.Run("logs keep the streams apart", func(t *testing.T) {
		id := e.detached("--name", "talker", bb, "sh", "-c", "echo out1; echo err1 >&2; sleep 0.2; echo out2")
		if out := e.must("wait", "talker"); out != "0\n" {
			t.Fatalf("wait: %q", out)
		}
		r := e.ctl("logs", "talker")
		if r.code != 0 || r.out != "out1\nout2\n" || r.err != "err1\n" {
			t.Fatalf("logs: %s", r)
		}
		b, err := os.ReadFile(filepath.Join(e.root, "containers", id, "ctr.log"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("ctr.log has %d records:\n%s", len(lines), b)
		}
		for _, l := range lines {
			if !criRecord.MatchString(l) {
				t.Errorf("not a CRI record: %q", l)
			}
		}
		if r := e.ctl("logs", "--tail", "1", id[:12]); r.out != "out2\n" || r.err != "" {
			t.Errorf("logs --tail 1: %s", r)
		}
		if r := e.ctl("logs", "-t", "talker"); !regexp.MustCompile(`^\d{4}-\S+Z out1\n\d{4}-\S+Z out2\n$`).MatchString(r.out) {
			t.Errorf("logs -t: %s", r)
		}
	})

	t.Run("wait prints the exit codes", func(t *testing.T) {
		a := e.detached(bb, "sh", "-c", "sleep 0.3; exit 7")
		b := e.detached(bb, "sh", "-c", "exit 3")
		if out := e.must("wait", a, b); out != "7\n3\n" {
			t.Errorf("wait: %q", out)
		}
		if c := e.record(a); c.Status != container.Exited || c.ExitCode != 7 || c.Finished.IsZero() {
			t.Errorf("record: %+v", c)
		}
		// Once wait returned, the monitor is done: rm needs no -f.
		if r := e.ctl("rm", a, b); r.code != 0 {
			t.Errorf("rm after wait: %s", r)
		}
	})

	t.Run("logs -f follows until the exit", func(t *testing.T) {
		e.detached("--name", "ticker", bb, "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.4; done")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := e.bin(ctx, "logs", "-f", "ticker")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var got []string
		for sc.Scan() {
			got = append(got, sc.Text())
			if len(got) == 1 {
				if c := e.record("ticker"); c.Status != container.Running {
					t.Errorf("first line came after the exit: %+v", c)
				}
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != "line1,line2,line3" {
			t.Errorf("logs -f: %q", got)
		}
	})

	t.Run("the log rotates at max-size", func(t *testing.T) {
		id := e.detached("--log-opt", "max-size=2k", bb, "sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done")
		if out := e.must("wait", id); out != "0\n" {
			t.Fatalf("wait: %q", out)
		}
		log := filepath.Join(e.root, "containers", id, "ctr.log")
		for _, p := range []string{log, log + ".1"} {
			st, err := os.Stat(p)
			if err != nil || st.Size() > 2048 {
				t.Errorf("%s: %v, want at most 2048 bytes", filepath.Base(p), err)
			}
		}
		lines := strings.Split(strings.TrimSuffix(e.must("logs", id), "\n"), "\n")
		if len(lines) < 50 || lines[len(lines)-1] != "line2999" {
			t.Fatalf("logs after rotation: %d lines ending %q", len(lines), lines[len(lines)-1])
		}
		first, _ := strconv.Atoi(strings.TrimPrefix(lines[0], "line"))
		for i, l := range lines {
			if l != fmt.Sprintf("line%d", first+i) {
				t.Fatalf("line %d is %q, want line%d: the kept lines are not consecutive", i, l, first+i)
			}
		}
	})

	t.Run("--rm -d removes the container when it exits", func(t *testing.T) {
		id := e.detached("--rm", bb, "sh", "-c", "sleep 0.3")
		testutil.Eventually(t, "the --rm container to go", func() bool { return e.record(id) == nil })
		if _, err := os.Stat(filepath.Join(e.root, "containers", id)); !os.IsNotExist(err) {
			t.Errorf("its directory is left: %v", err)
		}
	})

	t.Run("start again keeps the writable layer", func(t *testing.T) {
		e.detached("--name", "keeper", bb, "sh", "-c", "echo run >> /data.txt; cat /data.txt")
		e.must("wait", "keeper")
		first := e.record("keeper")
		if r := e.run("start", "keeper"); r.code != 0 || r.out != "keeper\n" {
			t.Fatalf("start: %s", r)
		}
		if out := e.must("wait", "keeper"); out != "0\n" {
			t.Fatalf("wait: %q", out)
		}
		// First run: "run"; second: "run", "run".
		if out := e.must("logs", "keeper"); out != "run\nrun\nrun\n" {
			t.Errorf("logs after start: %q", out)
		}
		again := e.record("keeper")
		if again.ID != first.ID || !again.Started.After(first.Started) || again.Status != container.Exited {
			t.Errorf("record after start: %+v (before %+v)", again, first)
		}
	})

	t.Run("start -a prints this run's output and exits with its status", func(t *testing.T) {
		e.detached("--name", "echoer", bb, "sh", "-c", "echo hello; exit 4")
		e.must("wait", "echoer")
		if r := e.run("start", "-a", "echoer"); r.code != 4 || r.out != "hello\n" {
			t.Errorf("start -a: %s", r)
		}
	})

	t.Run("ps filters by status", func(t *testing.T) {
		var list []container.Container
		if err := json.Unmarshal([]byte(e.must("ps", "--filter", "status=running", "--json")), &list); err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Name != "sleeper" {
			t.Errorf("ps --filter status=running: %+v", list)
		}
		out := e.must("ps", "--filter", "status=exited")
		if !strings.Contains(out, "talker") || strings.Contains(out, "sleeper") || !regexp.MustCompile(`Exited \(0\) (Less than a second|\d+ seconds?) ago`).MatchString(out) {
			t.Errorf("ps --filter status=exited:\n%s", out)
		}
		if out := e.must("ps"); !regexp.MustCompile(`Up (Less than a second|\d+ seconds?)\s`).MatchString(out) {
			t.Errorf("ps:\n%s", out)
		}
		if r := e.ctl("ps", "--filter", "status=paused"); r.code != 2 {
			t.Errorf("an unknown status: %s", r)
		}
	})
}

func TestStopSignalAndTimeout(t *testing.T) {
	e, bb := lifecycleEnv(t)
	tests := []struct {
		name     string
		cmd      []string
		timeout  string
		code     int
		min, max time.Duration
	}{
		// PID 1 with no handler ignores SIGTERM: killed at the timeout.
		{"ignores TERM", []string{"sh", "-c", "echo ready; exec sleep 1000"}, "2", 137, 2 * time.Second, 8 * time.Second},
		{"honours TERM", []string{"sh", "-c", "trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done"}, "10", 0, 0, 4 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := e.detached(append([]string{bb}, tc.cmd...)...)
			waitReady(t, e, id) // the shell has set its trap (or become sleep)
			pid := e.record(id).Pid
			t0 := time.Now()
			r := e.ctl("stop", "-t", tc.timeout, id[:12])
			took := time.Since(t0)
			if r.code != 0 || r.out != id[:12]+"\n" {
				t.Fatalf("stop: %s", r)
			}
			if took < tc.min || took > tc.max {
				t.Errorf("stop took %v, want %v to %v", took, tc.min, tc.max)
			}
			c := e.record(id)
			if c.Status != container.Exited || c.ExitCode != tc.code || pidAlive(pid) {
				t.Errorf("after stop: %+v, pid %d alive %v", c, pid, pidAlive(pid))
			}
			if r := e.ctl("rm", id); r.code != 0 {
				t.Errorf("rm after stop: %s", r)
			}
		})
	}
	// kill -s, and stop of a container that is not running.
	id := e.detached(bb, "sh", "-c", "trap 'exit 5' USR1; echo ready; while true; do sleep 0.1; done")
	waitReady(t, e, id)
	if r := e.ctl("kill", "-s", "USR1", id); r.code != 0 {
		t.Fatalf("kill -s USR1: %s", r)
	}
	if out := e.must("wait", id); out != "5\n" {
		t.Errorf("wait after kill -s USR1: %q", out)
	}
	if r := e.ctl("stop", id); r.code != 0 {
		t.Errorf("stop of an exited container: %s", r)
	}
}

// waitReady waits until container id has logged "ready".
func waitReady(t *testing.T, e *env, id string) {
	t.Helper()
	testutil.Eventually(t, "ready in the log of "+id[:12], func() bool { return strings.Contains(e.ctl("logs", id).out, "ready\n") })
}

func TestAttachDetach(t *testing.T) {
	e, bb := lifecycleEnv(t)
	e.detached("-it", "--name", "box", bb, "sh")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := e.bin(ctx, "attach", "box")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = outW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	got := make(chan string, 1)
	go func() {
		var all []byte
		buf := make([]byte, 4096)
		for {
			n, err := outR.Read(buf)
			all = append(all, buf[:n]...)
			if bytes.Contains(all, []byte("42\r\n")) {
				got <- string(all)
			}
			if err != nil {
				close(got)
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // the connection is up
	if _, err := in.Write([]byte("echo $((6*7))\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case s, ok := <-got:
		if !ok {
			t.Fatal("attach output ended without the answer")
		}
		_ = s
	case <-time.After(15 * time.Second):
		t.Fatal("no answer through attach")
	}
	if _, err := in.Write([]byte{0x10, 0x11}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("attach after ctrl-p ctrl-q: %v", err)
	}
	if c := e.record("box"); c.Status != container.Running {
		t.Errorf("after detaching: %+v", c)
	}
	// The terminal's output is in the log too.
	if out := e.must("logs", "box"); !strings.Contains(out, "42") {
		t.Errorf("logs of a -t container: %q", out)
	}
	// Attached again, the shell's exit ends attach with its status.
	again := e.bin(ctx, "attach", "box")
	again.Stdin = strings.NewReader("exit 3\n")
	if err := again.Run(); again.ProcessState == nil || again.ProcessState.ExitCode() != 3 {
		t.Errorf("attach to a shell that exits 3: %v", err)
	}
	if c := e.record("box"); c.Status != container.Exited || c.ExitCode != 3 {
		t.Errorf("after exit through attach: %+v", c)
	}
}

// leftovers lists what a container may leave on the host: its processes,
// cgroups and mounts below the root.
func leftovers(t *testing.T, e *env, pids []int, ids []string) []string {
	t.Helper()
	var left []string
	for _, p := range pids {
		if pidAlive(p) {
			left = append(left, fmt.Sprintf("process %d", p))
		}
	}
	for _, id := range ids {
		m, _ := filepath.Glob("/sys/fs/cgroup/*/ctr-lite/" + id)
		m2, _ := filepath.Glob("/sys/fs/cgroup/ctr-lite/" + id)
		left = append(append(left, m...), m2...)
		if _, err := os.Stat(filepath.Join(e.root, "containers", id)); err == nil {
			left = append(left, "directory of "+id[:12])
		}
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, filepath.Join(e.root, "containers")+"/") {
			left = append(left, "mount "+l)
		}
	}
	return left
}

func TestMonitorKilledThenRmForce(t *testing.T) {
	e, bb := lifecycleEnv(t)
	id := e.detached(bb, "sleep", "1000")
	c := e.record(id)
	if c.Cgroup == "" || !pidAlive(c.MonitorPid) {
		t.Fatalf("record: %+v", c)
	}
	if err := unix.Kill(c.MonitorPid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "ps to see the monitor gone", func() bool {
		c := e.record(id)
		return c.Status == container.Exited && c.MonitorLost && c.ExitCode == container.ExitUnknown
	})
	if out := e.must("ps", "-a"); !strings.Contains(out, "Exited (unknown)") {
		t.Errorf("ps -a:\n%s", out)
	}
	if r := e.ctl("rm", "-f", id); r.code != 0 {
		t.Fatalf("rm -f: %s", r)
	}
	if left := leftovers(t, e, []int{c.Pid, c.MonitorPid}, []string{id}); len(left) > 0 {
		t.Errorf("rm -f left: %q", left)
	}
}

// rm -f of a running detached container takes everything with it.
func TestRmForceRunning(t *testing.T) {
	e, bb := lifecycleEnv(t)
	id := e.detached(bb, "sleep", "1000")
	c := e.record(id)
	if r := e.ctl("rm", id); r.code != 1 || !strings.Contains(r.err, "running") {
		t.Errorf("rm of a running container without -f: %s", r)
	}
	if r := e.ctl("rm", "-f", id); r.code != 0 {
		t.Fatalf("rm -f: %s", r)
	}
	if left := leftovers(t, e, []int{c.Pid, c.MonitorPid}, []string{id}); len(left) > 0 {
		t.Errorf("rm -f left: %q", left)
	}
}

// stop works on a foreground run too: its ctr-lite records the status.
func TestStopForegroundRun(t *testing.T) {
	e, bb := lifecycleEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fg := e.bin(ctx, "run", "--name", "fg", bb, "sleep", "1000")
	if err := fg.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the run to start", func() bool { c := e.record("fg"); return c != nil && c.Status == container.Running })
	if r := e.ctl("stop", "-t", "1", "fg"); r.code != 0 {
		t.Fatalf("stop: %s", r)
	}
	if pidAlive(fg.Process.Pid) { // a zombie until waited for: not alive
		t.Error("stop returned before the run ended")
	}
	fg.Wait()
	if code := fg.ProcessState.ExitCode(); code != 137 {
		t.Errorf("run exited %d, want 137", code)
	}
	if c := e.record("fg"); c.Status != container.Exited || c.ExitCode != 137 {
		t.Errorf("record: %+v", c)
	}
}

func TestParallelDetachedStopRm(t *testing.T) {
	e, bb := lifecycleEnv(t)
	const n = 10
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		pids []int
		ids  []string
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.run("run", "-d", bb, "sleep", "1000")
			id := strings.TrimSpace(r.out)
			if r.code != 0 {
				t.Errorf("run -d: %s", r)
				return
			}
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
			var c []container.Container
			ps := e.run("ps", "--json")
			if err := json.Unmarshal([]byte(ps.out), &c); err != nil {
				t.Error(err)
			}
			for _, x := range c {
				if x.ID == id {
					mu.Lock()
					pids = append(pids, x.Pid, x.MonitorPid)
					mu.Unlock()
				}
			}
			if r := e.run("stop", "-t", "1", id); r.code != 0 {
				t.Errorf("stop: %s", r)
			}
			if r := e.run("rm", id); r.code != 0 {
				t.Errorf("rm: %s", r)
			}
		}()
	}
	wg.Wait()
	if len(pids) != 2*n {
		t.Errorf("saw %d pids, want %d", len(pids), 2*n)
	}
	if out := e.must("ps", "-aq"); out != "" {
		t.Errorf("containers left: %s", out)
	}
	if left := leftovers(t, e, pids, ids); len(left) > 0 {
		t.Errorf("left behind: %q", left)
	}
}

// TestRunTtyHangup: closing the terminal of `run -it sh` hangs up the
// container's terminal; the shell exits and so does ctr-lite.
func TestRunTtyHangup(t *testing.T) {
	e, bb := lifecycleEnv(t)
	m, s := testutil.OpenPty(t)
	cmd := e.bin(context.Background(), "run", "-it", "--name", "tty", bb, "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	prompt := make(chan bool, 1)
	go func() {
		var all []byte
		buf := make([]byte, 1024)
		for {
			k, err := m.Read(buf)
			all = append(all, buf[:k]...)
			if bytes.Contains(all, []byte("# ")) {
				prompt <- true
				return // no read in flight: closing m must really close it
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-prompt:
	case <-time.After(20 * time.Second):
		t.Fatal("no shell prompt")
	}
	var c *container.Container
	testutil.Eventually(t, "the record to say running", func() bool {
		c = e.record("tty")
		return c != nil && c.Status == container.Running
	})
	m.Close() // the terminal goes away
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		dbg, _ := exec.Command("sh", "-c", fmt.Sprintf("ps -eo pid,ppid,stat,wchan:30,args | grep -v grep | grep -E '%d|%d| sh$'; grep -i sig /proc/%d/status; ls -l /proc/%d/fd /proc/%d/fd", cmd.Process.Pid, c.Pid, c.Pid, c.Pid, cmd.Process.Pid)).CombinedOutput()
		t.Fatalf("ctr-lite run -it still runs after its terminal closed\n%s", dbg)
	}
	testutil.Eventually(t, "the shell to go", func() bool { return !pidAlive(c.Pid) })
	if c := e.record("tty"); c.Status != container.Exited || c.MonitorLost {
		t.Errorf("record after the hang-up: %+v", c)
	}
}

// A run -d that cannot start says why and exits as run would: 125 for
// ctr-lite's own failures (in the parent, before any monitor), 127 for a
// command that is not found (from the monitor).
func TestDetachedStartFailures(t *testing.T) {
	e, bb := lifecycleEnv(t)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown image", []string{"127.0.0.1:1/nope:1", "true"}, 125, "nope"},
		{"command not found", []string{bb, "no-such-command"}, 127, "no-such-command"},
		{"bad log option", []string{"--log-opt", "max-file=3", bb, "true"}, 125, "max-size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(append([]string{"run", "-d"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.err, tc.msg) || r.out != "" {
				t.Errorf("want exit %d naming %q: %s", tc.code, tc.msg, r)
			}
		})
	}
	var list []container.Container
	if err := json.Unmarshal([]byte(e.must("ps", "-a", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Status != container.Exited || list[0].ExitCode != 127 {
		t.Errorf("records: %+v, want the one that could not exec, exited 127", list)
	}
	// A foreground run keeps no log.
	e.must("run", "--name", "fg", bb, "true")
	if r := e.ctl("logs", "fg"); r.code != 1 || !strings.Contains(r.err, "no log") {
		t.Errorf("logs of a foreground run: %s", r)
	}
}

// The container commands complete container names (and short ids).
func TestCompleteContainerNames(t *testing.T) {
	e, bb := lifecycleEnv(t)
	e.must("run", "--name", "done", bb, "true")
	id := e.detached("--name", "busy", bb, "sleep", "1000")
	for _, tc := range []struct {
		cmd          string
		want, absent []string
	}{
		{"logs", []string{"done", "busy", id[:12]}, nil},
		{"rm", []string{"done", "busy"}, nil},
		{"start", []string{"done"}, nil},
		{"wait", []string{"busy"}, nil},
		{"stop", []string{"busy", id[:12]}, []string{"done"}},
		{"kill", []string{"busy"}, []string{"done"}},
		{"attach", []string{"busy"}, []string{"done"}},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			out := e.must("__complete", tc.cmd, "")
			got := map[string]bool{}
			for _, l := range strings.Split(out, "\n") {
				got[l] = true
			}
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("%s completes %q, missing %q", tc.cmd, out, w)
				}
			}
			for _, n := range tc.absent {
				if got[n] {
					t.Errorf("%s offers %q, which is not running", tc.cmd, n)
				}
			}
		})
	}
}
