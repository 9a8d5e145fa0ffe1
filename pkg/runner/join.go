package runner

import (
	"context"
	"fmt"
	"maps"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/runner/cgroups"
	"github.com/ctrlite/ctr-lite/pkg/runner/seccomp"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// ExecConfig says what to run in a running container (`ctr-lite exec`).
type ExecConfig struct {
	ID string
	// Pid is the container's init process (its PID 1; host view) and
	// Pidfd a pidfd of it, which the caller opened and checked is the
	// container's (container.Container.OpenInit). Exec does not close it.
	Pid, Pidfd int
	// StateDir is the container's StateDir, where Run saved its spec.
	StateDir string
	Args     []string
	// Env is set over the container's environment: K=V, or K to copy the
	// caller's value (as run -e).
	Env []string
	// User is user[:group] resolved in the container's /etc/passwd and
	// /etc/group; "" runs as the container's user.
	User string
	// Cwd is the absolute working directory; "" is the container's.
	Cwd      string
	Terminal bool
	// Detach returns once the command runs, without waiting for it: it
	// outlives the caller (no parent-death signal) and its stdio is
	// /dev/null.
	Detach bool
	// Started, when set, is called with the command's pid (host view).
	Started func(pid int)
}

// joinedByParent are the namespaces of the container's init that the
// thread forking Exec's child enters: the child is born in them (in the
// pid namespace: setns only moves children). The child enters the mount
// namespace itself, once it runs (see joinMountNS): it is exec'd from the
// host's mount namespace, so a ctr-lite built with cgo (a test binary)
// finds its ELF interpreter, and nothing of the container's filesystem is
// used to start it. Never the user namespace (see Exec) or the time
// namespace.
const joinedByParent = unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// Exec runs a command in the running container whose init is cfg.Pid,
// confined exactly as that init: it enters its mount, pid, uts, ipc, net
// and cgroup namespaces (so its root is the container's), joins its
// cgroup and gets the spec's capabilities (all five sets), seccomp filter,
// no_new_privs, AppArmor profile, rlimits, environment (plus cfg.Env),
// user and working directory, never more. It returns as Run does: the
// command's status, or an *errdefs.ExitError with 125 (ctr-lite failed),
// 126 or 127. With Detach it returns 0 once the command runs.
//
// A container with a user namespace (rootless) is refused with
// errdefs.ErrUnsupported: joining one needs a single-threaded process,
// which a Go program is not.
func Exec(ctx context.Context, cfg ExecConfig, stdio Stdio) (int, error) {
	if cfg.ID == "" || cfg.StateDir == "" || len(cfg.Args) == 0 || cfg.Pid <= 0 || cfg.Pidfd < 0 {
		return failed(fmt.Errorf("exec: %w: ID, Pid, Pidfd, StateDir and Args are required", ErrInvalidConfig))
	}
	if cfg.Detach && cfg.Terminal {
		// Nobody would hold the pty once the caller is gone.
		return failed(fmt.Errorf("exec %s: %w: a terminal (-t) needs the caller: not with detach (-d)", shortID(cfg.ID), ErrInvalidConfig))
	}
	tr := newTracer("exec  ", os.Getenv("CTRLITE_RUNNER_TRACE") == "1")
	s, err := loadSpec(cfg.StateDir)
	if err != nil {
		return failed(fmt.Errorf("exec %s: %w", shortID(cfg.ID), err))
	}
	if err := sameUserNS(s, cfg.Pid); err != nil {
		return failed(fmt.Errorf("exec %s: %w", shortID(cfg.ID), err))
	}
	es, err := execSpec(s, cfg)
	if err != nil {
		return failed(fmt.Errorf("exec %s: %w", shortID(cfg.ID), err))
	}
	ic := initConfig{Spec: es, Join: true, Detach: cfg.Detach, Trace: tr.on}
	if s.Linux.Seccomp != nil {
		if ic.Seccomp, err = seccomp.Compile(s.Linux.Seccomp); err != nil {
			return failed(fmt.Errorf("exec %s: %w", shortID(cfg.ID), err))
		}
	}
	cg, err := cgroups.Open(SpecCgroupPath(s, cfg.ID))
	if err != nil {
		return failed(fmt.Errorf("exec %s: %w", shortID(cfg.ID), err))
	}
	tr.mark("spec+seccomp+cgroup")
	eio, closeNull, err := execStdio(cfg, stdio)
	if err != nil {
		return failed(fmt.Errorf("exec %s: %w", shortID(cfg.ID), err))
	}
	defer closeNull()
	p, err := prepare(cfg.ID, &ic, cg, eio.Stdio, tr)
	if err != nil {
		return failed(err)
	}
	defer p.release()
	if !es.Process.Terminal {
		// Opened on the host, not in the container (which could make its
		// /dev/null a FIFO).
		p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = eio.In, eio.Out, eio.Err
	} else {
		p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = eio.null, eio.null, eio.null
	}
	// The child's fd 5: the init's pidfd, to enter its mount namespace.
	initFD, err := unix.FcntlInt(uintptr(cfg.Pidfd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return failed(fmt.Errorf("exec %s: %w", shortID(cfg.ID), err))
	}
	initFile := os.NewFile(uintptr(initFD), "container-init")
	defer initFile.Close()
	p.cmd.ExtraFiles = append(p.cmd.ExtraFiles, initFile)
	hold := make(chan struct{})
	defer close(hold)
	if err := p.startJoined(cfg, hold, tr); err != nil {
		return failed(err)
	}
	if err := p.handshake(&ic, cg, eio.Stdio, tr); err != nil {
		return p.abort(cfg.ID, err)
	}
	p.announce("", cfg.Started)
	if cfg.Detach {
		go func() { _ = p.cmd.Wait() }() // reaped here while the caller lives
		return 0, nil
	}
	return p.supervise(ctx, cfg.ID, func() bool { return false }, tr)
}

// startJoined (step 1 of Exec) starts the child from a locked thread that
// first enters the container's namespaces: the child inherits them (and is
// born in the pid namespace). The thread then goes back to its own
// namespaces and to the Go scheduler. It must not end: a process's
// parent-death signal fires when the thread that forked it exits, and
// this thread may have forked the init of a container that Run started in
// this process (Go ends a thread left locked). Only if it cannot go back
// does it stay locked and end, once hold is closed (the child waited for).
func (p *initProc) startJoined(cfg ExecConfig, hold <-chan struct{}, tr *tracer) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := threadNamespaces()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("exec %s: %w", shortID(cfg.ID), err)
			return
		}
		defer own.close()
		// One setns call for all: it changes all of them or none.
		if err := unix.Setns(cfg.Pidfd, joinedByParent); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("exec %s: enter the container's namespaces: %w", shortID(cfg.ID), err)
			return
		}
		err = p.startChild(cfg.ID, tr)
		errc <- err
		if own.restore() == nil {
			runtime.UnlockOSThread()
			return
		}
		if err == nil && !cfg.Detach {
			<-hold
		}
	}()
	return <-errc
}

// nsFiles are a thread's own namespaces, to go back to.
type nsFiles []struct{ fd, kind int }

// threadNamespaces opens the calling thread's namespaces of the kinds in
// joinedByParent (for pid, the one its children are born in).
func threadNamespaces() (nsFiles, error) {
	var out nsFiles
	for _, n := range []struct {
		name string
		kind int
	}{{"pid_for_children", unix.CLONE_NEWPID}, {"uts", unix.CLONE_NEWUTS}, {"ipc", unix.CLONE_NEWIPC}, {"net", unix.CLONE_NEWNET}, {"cgroup", unix.CLONE_NEWCGROUP}} {
		fd, err := unix.Open("/proc/thread-self/ns/"+n.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			out.close()
			return nil, fmt.Errorf("open own %s namespace: %w", n.name, err)
		}
		out = append(out, struct{ fd, kind int }{fd, n.kind})
	}
	return out, nil
}

func (ns nsFiles) restore() error {
	for _, n := range ns {
		if err := unix.Setns(n.fd, n.kind); err != nil {
			return err
		}
	}
	return nil
}

func (ns nsFiles) close() {
	for _, n := range ns {
		unix.Close(n.fd)
	}
}

// joinMountNS (Exec's child, on its locked thread) enters the mount
// namespace of the container's init (pidfd fdJoin), which makes the
// container's root this thread's root and working directory; exec
// carries that over to the command. Joining a mount namespace needs a
// thread that shares no filesystem information (root, cwd) with others.
func joinMountNS() error {
	defer unix.Close(fdJoin)
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare filesystem info: %w", err)
	}
	if err := unix.Setns(fdJoin, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("enter the container's mount namespace: %w", err)
	}
	return nil
}

// sameUserNS refuses a container in a user namespace other than ours.
func sameUserNS(s *specs.Spec, pid int) error {
	if hasNS(s, specs.UserNamespace) {
		return fmt.Errorf("exec into a container with a user namespace (rootless) is %w yet", errdefs.ErrUnsupported)
	}
	var ours, theirs unix.Stat_t
	if err := unix.Stat("/proc/self/ns/user", &ours); err != nil {
		return fmt.Errorf("user namespace: %w", err)
	}
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/user", &theirs); err != nil {
		return fmt.Errorf("container init %d: %w", pid, err)
	}
	if ours.Ino != theirs.Ino || ours.Dev != theirs.Dev {
		return fmt.Errorf("exec into a container in another user namespace (rootless) is %w yet", errdefs.ErrUnsupported)
	}
	return nil
}

// execSpec is the container's spec with the exec's process: its command,
// environment, terminal, working directory and (resolved in the child)
// user; everything that confines it stays the container's.
func execSpec(s *specs.Spec, cfg ExecConfig) (*specs.Spec, error) {
	es := *s
	proc := *s.Process
	proc.Args = cfg.Args
	proc.Env = rspec.MergeEnv(proc.Env, cfg.Env...)
	proc.Terminal = cfg.Terminal
	if cfg.Terminal && !hasEnv(proc.Env, "TERM") {
		proc.Env = append(proc.Env, "TERM=xterm")
	}
	if cfg.Cwd != "" {
		if !strings.HasPrefix(cfg.Cwd, "/") {
			return nil, fmt.Errorf("%w: working directory %q is not absolute", ErrInvalidConfig, cfg.Cwd)
		}
		proc.Cwd = cfg.Cwd
	}
	es.Annotations = maps.Clone(s.Annotations)
	if cfg.User != "" {
		if es.Annotations == nil {
			es.Annotations = map[string]string{}
		}
		es.Annotations[rspec.AnnotationUser] = cfg.User
		proc.User = specs.User{Umask: proc.User.Umask}
	}
	es.Process = &proc
	return &es, nil
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

// execIO is the exec's stdio with /dev/null (opened on the host) in
// place of missing streams, and for all of them with Detach.
type execIO struct {
	Stdio
	null *os.File
}

func execStdio(cfg ExecConfig, stdio Stdio) (execIO, func(), error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return execIO{}, nil, err
	}
	if cfg.Detach {
		stdio = Stdio{}
	}
	if stdio.In == nil {
		stdio.In = null
	}
	if stdio.Out == nil {
		stdio.Out = null
	}
	if stdio.Err == nil {
		stdio.Err = null
	}
	return execIO{Stdio: stdio, null: null}, func() { null.Close() }, nil
}
