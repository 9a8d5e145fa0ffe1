package runner

import (
	"context"
	"debug/elf"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// requireStatic: the reaper is this test binary run inside the busybox
// rootfs, which has no ELF interpreter for a dynamically linked one.
func requireStatic(t *testing.T) {
	t.Helper()
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			testutil.Skipf(t, "--init runs the test binary in the container: build it static (CGO_ENABLED=0 go test)")
		}
	}
}

// withInit is sh(script) with --init.
func withInit(script string) rspec.Options {
	o := sh(script)
	o.Init = true
	return o
}

// TestInitReaper: with --init, PID 1 is the reaper and the command its
// child; zombies are reaped; the status passes through; the reaper is
// confined exactly as the command; no descriptor of the binary reaches
// the command.
func TestInitReaper(t *testing.T) {
	testutil.RequireRoot(t)
	requireStatic(t)
	root, img := busybox(t)
	const creds = `grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):'`
	tests := []struct {
		name  string
		opts  rspec.Options
		code  int
		check func(t *testing.T, out string)
	}{
		{"pid 1 is the init, the command its child", withInit(`tr '\0' ' ' </proc/1/cmdline; echo; echo pid=$$; grep PPid /proc/$$/status`), 0,
			func(t *testing.T, out string) {
				lines := strings.Split(out, "\n")
				if len(lines) < 3 || !strings.HasPrefix(lines[0], "ctr-lite-init -- sh -c tr ") {
					t.Errorf("/proc/1/cmdline %q, want ctr-lite-init -- sh -c ...", lines[0])
				}
				if len(lines) < 3 || lines[1] == "pid=1" || strings.Join(strings.Fields(lines[2]), " ") != "PPid: 1" {
					t.Errorf("the command is not PID 1's child:\n%s", out)
				}
			}},
		{"without --init the command is pid 1", sh(`echo pid=$$`), 0,
			func(t *testing.T, out string) {
				if strings.TrimSpace(out) != "pid=1" {
					t.Errorf("got %q, want pid=1", out)
				}
			}},
		{"exit status passes through", withInit("exit 7"), 7, nil},
		{"killed by a signal: 128+N", withInit("kill -USR1 $$"), 128 + int(unix.SIGUSR1), nil},
		{"orphans are reaped", withInit(`for i in 1 2 3; do (sleep 0.1 &); done; sleep 1; ps -o stat,comm`), 0,
			func(t *testing.T, out string) {
				n := 0
				for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
					f := strings.Fields(l)
					if len(f) == 2 && strings.HasPrefix(f[0], "Z") {
						t.Errorf("zombie left: %q", l)
					}
					n++
				}
				if n < 2 { // init and ps (sh execs its last command)
					t.Errorf("ps lists %d processes:\n%s", n, out)
				}
			}},
		{"same credentials and filter as the command", withInit(creds + ` /proc/1/status; echo ---; ` + creds + ` /proc/self/status`), 0,
			func(t *testing.T, out string) {
				sameCreds(t, out, "Seccomp:\t2", "NoNewPrivs:\t1")
			}},
		{"same credentials as a user", func() rspec.Options {
			o := withInit(creds + ` /proc/1/status; echo ---; ` + creds + ` /proc/self/status`)
			o.User, o.CapAdd = "1000:1000", []string{"NET_ADMIN"}
			return o
		}(), 0, func(t *testing.T, out string) { sameCreds(t, out, "Uid:\t1000\t1000\t1000\t1000") }},
		{"no descriptor of the binary in the command or the init", withInit(`echo $(ls /proc/self/fd/); ls -l /proc/self/fd/ /proc/1/fd/`), 0,
			func(t *testing.T, out string) {
				first, _, _ := strings.Cut(out, "\n")
				if first != "0 1 2 3" { // stdio and ls's own directory
					t.Errorf("command's descriptors %q, want 0 1 2 3", first)
				}
				for _, l := range strings.Split(out, "\n") {
					if strings.Contains(l, "memfd") || strings.Contains(l, "ctr-lite") || strings.Contains(l, ".test") {
						t.Errorf("descriptor of the binary: %q", l)
					}
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runSpec(t, testID(t), build(t, root, img, tc.opts), nil, "")
			if r.code != tc.code || r.err != nil {
				t.Fatalf("code %d err %v stderr %q, want %d", r.code, r.err, r.stderr, tc.code)
			}
			if tc.check != nil {
				t.Logf("output:\n%s", r.stdout)
				tc.check(t, strings.TrimSpace(r.stdout))
			}
		})
	}
}

// sameCreds checks that the two halves of out (split at "---") are equal
// and contain want.
func sameCreds(t *testing.T, out string, want ...string) {
	t.Helper()
	init, cmd, ok := strings.Cut(out, "\n---\n")
	if !ok || init != cmd || strings.Count(init, "\n") < 9 {
		t.Errorf("init and command differ:\n%s", out)
	}
	for _, w := range want {
		if !strings.Contains(init, w) {
			t.Errorf("init lacks %q:\n%s", w, init)
		}
	}
}

// TestInitForwardsTerm: SIGTERM to PID 1 from the host reaches a command
// with no handler through the init (143); without --init, PID 1 sleep
// ignores it and is only stopped by SIGKILL (137).
func TestInitForwardsTerm(t *testing.T) {
	testutil.RequireRoot(t)
	requireStatic(t)
	root, img := busybox(t)
	for _, tc := range []struct {
		name string
		init bool
		code int
	}{{"with --init", true, 128 + int(unix.SIGTERM)}, {"without", false, 128 + int(unix.SIGKILL)}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := sh("echo ready; exec sleep 100")
			opts.Init = tc.init
			w := &readyWriter{ready: make(chan struct{})}
			pid := make(chan int, 1)
			go func() {
				p := <-pid
				<-w.ready
				_ = unix.Kill(p, unix.SIGTERM)
				time.Sleep(2 * time.Second)
				_ = unix.Kill(p, unix.SIGKILL)
			}()
			code, err := Run(context.Background(), Config{ID: testID(t), Spec: build(t, root, img, opts), StateDir: t.TempDir(),
				Started: func(p int) { pid <- p }}, Stdio{Out: w, Err: io.Discard})
			if err != nil || code != tc.code {
				t.Fatalf("code %d err %v, want %d", code, err, tc.code)
			}
		})
	}
}

// TestInitTerminal: with -t the command is the terminal's foreground
// process group (it can read it) under the init.
func TestInitTerminal(t *testing.T) {
	testutil.RequireRoot(t)
	requireStatic(t)
	root, img := busybox(t)
	master, slave := testutil.OpenPty(t)
	opts := withInit(`read line; echo got:$line; set -- $(cat /proc/$$/stat); echo pgrp=$5 tpgid=$8 ppid=$4; tty`)
	opts.Terminal = true
	s := build(t, root, img, opts)
	lines := ptyLines(master)
	done := make(chan error, 1)
	go func() {
		code, err := Run(context.Background(), Config{ID: testID(t), Spec: s, StateDir: t.TempDir()}, Stdio{In: slave, Out: slave})
		if err == nil && code != 0 {
			err = unix.Errno(code)
		}
		done <- err
	}()
	if _, err := master.Write([]byte("hello\r")); err != nil {
		t.Fatal(err)
	}
	var got []string
	timeout := time.After(20 * time.Second) // a hang guard, not a timing assertion
	for len(got) == 0 || got[len(got)-1] != "/dev/pts/0" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("terminal closed; output %q", got)
			}
			got = append(got, l)
		case <-timeout:
			t.Fatalf("no tty line; output so far %q", got)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	out := strings.Join(got, "\n")
	var pg, tp, pp string
	for _, l := range got {
		if strings.HasPrefix(l, "pgrp=") {
			f := strings.Fields(l)
			pg, tp, pp = strings.TrimPrefix(f[0], "pgrp="), strings.TrimPrefix(f[1], "tpgid="), strings.TrimPrefix(f[2], "ppid=")
		}
	}
	if !strings.Contains(out, "got:hello") || pg == "" || pg != tp || pg == "1" || pp != "1" {
		t.Errorf("want the command in the foreground group, child of PID 1:\n%s", out)
	}
}
