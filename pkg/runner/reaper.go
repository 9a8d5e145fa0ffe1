package runner

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// The init reaper (run --init) is this binary again, exec'd by the
// runner's child in place of the command once every confinement is in
// place (user, groups, capabilities, no_new_privs, seccomp, AppArmor,
// rlimits): it starts as one thread with the container's credentials and
// filter, so no thread it makes holds more than the container. As PID 1 it
// forks and execs the command, forwards the signals it gets to it and
// reaps every zombie of the namespace until the command exits, then exits
// with the command's status (128+N for signal N), as docker's tini does.

// envReaper marks the reaper's environment; its value is the command's
// resolved path. The reaper drops it from the command's environment.
const envReaper = "_CTRLITE_INIT_REAPER"

// reaperName is the reaper's argv[0]: `ps` in the container shows
// "ctr-lite-init -- COMMAND...".
const reaperName = "ctr-lite-init"

// wantsReaper says whether the child execs the reaper rather than the
// command: a Run (not an Exec) of a spec with AnnotationInit.
func wantsReaper(cfg *initConfig) bool {
	return !cfg.Join && cfg.Spec.Annotations[rspec.AnnotationInit] == "true"
}

// openSelfExe (child, before dropping privileges) opens the binary this
// child was exec'd from: the sealed memfd or overlay copy (exe.go), never
// the host's file. The descriptor closes on exec.
func openSelfExe() (int, error) {
	fd, err := unix.Open("/proc/self/exe", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open init reaper binary: %w", err)
	}
	return fd, nil
}

// execReaper (child, last step) execs the sealed binary from exeFD as the
// reaper of the command bin with args and env. The descriptor is
// close-on-exec: nothing of the binary stays open in the reaper.
func execReaper(exeFD int, bin string, args, env []string) error {
	argv := append([]string{reaperName, "--"}, args...)
	envv := append(withoutKey(env, envReaper), envReaper+"="+bin) // the marker is ours alone
	err := unix.Exec(fdPath(exeFD), argv, envv)
	if err == unix.ENOENT { // its ELF interpreter is missing in the container
		err = fmt.Errorf("%w (--init needs a static binary: CGO_ENABLED=0)", err)
	}
	return execError(reaperName, err)
}

// reaperSignals are the signals the reaper passes on: all but those it
// cannot catch, SIGCHLD (its own), the synchronous faults, the terminal
// stop signals of a background group, SIGURG (Go's preemption) and
// 32, 33 (libc's).
func reaperSignals() []os.Signal {
	skip := map[unix.Signal]bool{
		unix.SIGKILL: true, unix.SIGSTOP: true, unix.SIGCHLD: true, unix.SIGURG: true,
		unix.SIGFPE: true, unix.SIGILL: true, unix.SIGSEGV: true, unix.SIGBUS: true,
		unix.SIGTRAP: true, unix.SIGSYS: true, unix.SIGABRT: true, unix.SIGTTIN: true, unix.SIGTTOU: true,
	}
	var out []os.Signal
	for s := unix.Signal(1); s <= 64; s++ {
		if !skip[s] && (s < 32 || s > 33) {
			out = append(out, s)
		}
	}
	return out
}

// reaperMain is the reaper (see above); it never returns.
func reaperMain() {
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&[]byte(reaperName + "\x00")[0])), 0, 0, 0)
	bin := os.Getenv(envReaper)
	env := withoutKey(os.Environ(), envReaper)
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if bin == "" || len(args) == 0 {
		reaperFail(CodeRunnerFailed, fmt.Errorf("no command"))
	}
	// One P, and no goroutine blocked in a system call: the reaper keeps
	// few threads, which count against --pids-limit and RLIMIT_NPROC.
	runtime.GOMAXPROCS(1)
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, append(reaperSignals(), unix.SIGCHLD)...)
	// The command gets a process group of its own, the terminal's
	// foreground one with -t (so ^C and SIGWINCH reach it), as with tini.
	sys := &syscall.SysProcAttr{Setpgid: true}
	if _, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil {
		sys.Foreground, sys.Ctty = true, 0
	}
	pid, err := syscall.ForkExec(bin, args, &syscall.ProcAttr{Env: env, Files: []uintptr{0, 1, 2}, Sys: sys})
	if err != nil {
		reaperFail(exitCodeOf(err), fmt.Errorf("exec %s: %w", args[0], err))
	}
	for s := range sigs {
		if s != unix.SIGCHLD {
			_ = unix.Kill(pid, s.(unix.Signal))
		}
		reap(pid) // after any signal: a SIGCHLD dropped by a full channel is not lost
	}
}

// reap collects every exited child; when one is the command, the reaper
// exits with its status.
func reap(pid int) {
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || wpid <= 0 {
			return
		}
		if wpid != pid {
			continue // an orphan of the namespace
		}
		if ws.Signaled() {
			os.Exit(128 + int(ws.Signal()))
		}
		os.Exit(ws.ExitStatus())
	}
}

// exitCodeOf is docker's status for a failed exec: 127 not found, else 126.
func exitCodeOf(err error) int {
	if err == unix.ENOENT {
		return CodeNotFound
	}
	return CodeNotExecutable
}

func reaperFail(code int, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", reaperName, err)
	os.Exit(code)
}
