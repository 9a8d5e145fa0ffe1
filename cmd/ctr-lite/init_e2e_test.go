package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/container"
)

// TestRunInitE2E: run --init with the built (static) binary: PID 1 is the
// init and the command its child, the status passes through, stop and
// kill -s TERM reach a command without a handler, exec into the container
// works, -it works, and --runtime is refused.
func TestRunInitE2E(t *testing.T) {
	e, bb := lifecycleEnv(t)

	t.Run("ps: PID 1 is the init, the command its child", func(t *testing.T) {
		r := e.run("run", "--rm", "--init", bb, "sh", "-c", "ps -o pid,ppid,args")
		if r.code != 0 {
			t.Fatalf("run: %s", r)
		}
		var init, ps []string
		for _, l := range strings.Split(strings.TrimSpace(r.out), "\n")[1:] {
			f := strings.Fields(l)
			switch {
			case len(f) > 2 && f[0] == "1":
				init = f
			case len(f) > 2 && strings.Contains(l, "ps -o"): // sh running its ps applet
				ps = f
			}
		}
		if init == nil || strings.Join(init[2:], " ") != "ctr-lite-init -- sh -c ps -o pid,ppid,args" || ps == nil || ps[0] == "1" || ps[1] != "1" {
			t.Errorf("want PID 1 ctr-lite-init and ps its child:\n%s", r.out)
		}
	})

	t.Run("exit status passes through", func(t *testing.T) {
		for _, tc := range []struct {
			cmd  []string
			code int
		}{{[]string{"sh", "-c", "exit 7"}, 7}, {[]string{"sh", "-c", "kill -USR1 $$"}, 138}, {[]string{"no-such-command"}, 127}} {
			if r := e.run(append([]string{"run", "--rm", "--init", bb}, tc.cmd...)...); r.code != tc.code {
				t.Errorf("run %v: %s, want exit %d", tc.cmd, r, tc.code)
			}
		}
	})

	t.Run("stop and kill -s TERM reach a command with no handler", func(t *testing.T) {
		for _, how := range [][]string{{"stop", "-t", "20"}, {"kill", "-s", "TERM"}} {
			id := e.detached("--init", bb, "sleep", "1000")
			testutil.Eventually(t, "sleep to run under the init", func() bool {
				pid := e.record(id).Pid
				kids, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
				for _, k := range kids { // the init's Go threads fork
					if b, _ := os.ReadFile(k); len(bytes.TrimSpace(b)) > 0 {
						return true
					}
				}
				return false
			})
			t0 := time.Now()
			if r := e.ctl(append(how, id)...); r.code != 0 {
				t.Fatalf("%s: %s", how[0], r)
			}
			if out := e.must("wait", id); out != "143\n" {
				t.Errorf("%s: wait printed %q, want 143", how[0], out)
			}
			if took := time.Since(t0); took > 10*time.Second {
				t.Errorf("%s took %v: TERM did not reach sleep", how[0], took)
			}
			if c := e.record(id); c.Status != container.Exited || c.ExitCode != 143 {
				t.Errorf("record: %+v", c)
			}
		}
	})

	t.Run("exec into an --init container", func(t *testing.T) {
		id := e.detached("--init", bb, "sleep", "1000")
		r := e.run("exec", id, "sh", "-c", `tr '\0' ' ' </proc/1/cmdline; echo; grep PPid /proc/$$/status`)
		if r.code != 0 || !strings.HasPrefix(r.out, "ctr-lite-init -- sleep 1000 \n") {
			t.Errorf("exec: %s", r)
		}
		e.must("rm", "-f", id)
	})

	t.Run("start keeps --init", func(t *testing.T) {
		id := e.detached("--init", bb, "sleep", "1000")
		e.must("kill", id)
		e.must("wait", id)
		if r := e.run("start", id); r.code != 0 {
			t.Fatalf("start: %s", r)
		}
		testutil.Eventually(t, "the init to be PID 1 again", func() bool {
			c := e.record(id)
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c.Pid))
			return c.Status == container.Running && string(b) == "ctr-lite-init\n"
		})
		e.must("rm", "-f", id)
	})

	t.Run("-it", func(t *testing.T) {
		m, s := testutil.OpenPty(t)
		cmd := e.bin(context.Background(), "run", "-it", "--rm", "--init", bb, "sh", "-c",
			`read l; echo got:$l; tr '\0' ' ' </proc/1/cmdline; echo; set -- $(cat /proc/$$/stat); echo fg:$(($5 == $8))`)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
		cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		if _, err := m.Write([]byte("hi\r")); err != nil {
			t.Fatal(err)
		}
		var out []byte
		buf := make([]byte, 1024)
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); { // until EIO: ctr-lite closed the terminal
			_ = m.SetReadDeadline(deadline)
			k, err := m.Read(buf)
			out = append(out, buf[:k]...)
			if err != nil {
				break
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("run -it --init: %v\n%s", err, out)
		}
		for _, want := range []string{"got:hi", "ctr-lite-init -- sh -c read l", "fg:1"} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("terminal output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("refused with --runtime", func(t *testing.T) {
		r := e.run("run", "--rm", "--init", "--runtime", "runc", bb, "true")
		if r.code != 125 || !strings.Contains(r.err, "--init") {
			t.Errorf("run --init --runtime runc: %s, want 125 naming --init", r)
		}
	})
}
