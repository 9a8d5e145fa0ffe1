package runner

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
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

// Exec runs a command in the running container whose init is cfg.Pid,
// confined exactly as that init: it enters its mount, pid, uts, ipc, net
// and cgroup namespaces (so its root is the container's), joins its
// cgroup and gets the spec's capabilities (all five sets), seccomp filter,
// no_new_privs, AppArmor profile, rlimits (the spec's, and the init's
// own for the others: not the caller's; a hard limit above the caller's
// needs CAP_SYS_RESOURCE, else it stays the caller's), environment (plus
// cfg.Env), user and working directory, never more. It returns as Run does: the
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
	ic := initConfig{Spec: childSpec(es), Join: true, Detach: cfg.Detach, Trace: tr.on}
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
	eio, err := execStdio(cfg, stdio)
	if err != nil {
		return failed(fmt.Errorf("exec %s: %w", shortID(cfg.ID), err))
	}
	defer eio.null.Close()
	p, err := prepare(cfg.ID, &ic, cg, eio.Stdio, tr)
	if err != nil {
		return failed(err)
	}
	defer p.release()
	if es.Process.Terminal {
		// The child's stdio until it opens the pty (os/exec would open
		// /dev/null itself for nil ones).
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
	if err := p.startJoined(cfg, cg, hold, tr); err != nil {
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
	return p.supervise(ctx, cfg.ID, cg, tr)
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
	if cfg.Terminal {
		proc.Env = withDefault(proc.Env, "TERM", "xterm")
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
	proc.Rlimits = initRlimits(cfg.Pid, proc.Rlimits)
	es.Process = &proc
	return &es, nil
}

// initRlimits is rl (the spec's, which the init set) plus, for each
// resource rl does not set, the init's own limit: what it inherited from
// the ctr-lite that started it, which may differ from this one's.
func initRlimits(pid int, rl []specs.POSIXRlimit) []specs.POSIXRlimit {
	out := append([]specs.POSIXRlimit(nil), rl...)
	set := map[string]bool{}
	for _, r := range rl {
		set[r.Type] = true
	}
	for _, name := range slices.Sorted(maps.Keys(rlimits)) {
		var cur unix.Rlimit
		if set[name] || unix.Prlimit(pid, rlimits[name], nil, &cur) != nil {
			continue
		}
		out = append(out, specs.POSIXRlimit{Type: name, Soft: cur.Cur, Hard: cur.Max})
	}
	return out
}

// execIO is the exec's stdio with /dev/null (opened on the host) in
// place of missing streams, and for all of them with Detach.
type execIO struct {
	Stdio
	null *os.File
}

func execStdio(cfg ExecConfig, stdio Stdio) (execIO, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return execIO{}, err
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
	return execIO{Stdio: stdio, null: null}, nil
}
