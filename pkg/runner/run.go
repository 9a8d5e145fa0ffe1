package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/runner/apparmor"
	"github.com/ctrlite/ctr-lite/pkg/runner/cgroups"
	"github.com/ctrlite/ctr-lite/pkg/runner/seccomp"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// Stdio is the container's standard streams. With Spec.Process.Terminal,
// In and Out are the caller's terminal (e.g. os.Stdin, os.Stdout): it is
// put in raw mode and its window size follows; Err is unused.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// Config says what to run.
type Config struct {
	ID   string
	Spec *specs.Spec // Root.Path is the rootfs mountpoint directory
	// RootMounts are mounted onto Spec.Root.Path inside the new mount
	// namespace before pivot_root (e.g. one overlay mount); empty means
	// Root.Path already is a rootfs directory.
	RootMounts []specs.Mount
	// StateDir is a per-container directory: the pid file, and the hosts,
	// hostname and resolv.conf files bind-mounted into the container. ""
	// uses a temporary directory removed afterwards.
	StateDir string
	// Started, when set, is called with the container's pid (host view)
	// once its process runs, e.g. to mark a container record running.
	Started func(pid int)
	// NoCgroup runs the container in the caller's cgroup, without limits
	// (Spec.Linux.Resources is ignored): a rootless run where no cgroup
	// can be made. The container still gets a cgroup namespace.
	NoCgroup bool
	// Network, when set, is called with the container's pid once it is in
	// its namespaces and before it reads its config (so before its process
	// starts), e.g. to attach a user-mode network to its network
	// namespace. The stop it returns is called once the container exited.
	Network func(pid int) (stop func(), err error)
}

// forwarded are the signals Run passes on to the container.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// Run starts the container and waits for it. It returns the exit status:
// the process's own, or 128+N when killed by signal N. A non-nil error is
// an *errdefs.ExitError carrying the status ctr-lite should exit with (125 setup
// failure, 126 not executable, 127 not found, 137 OOM kill).
func Run(ctx context.Context, cfg Config, stdio Stdio) (int, error) {
	if cfg.ID == "" || cfg.Spec == nil || cfg.Spec.Process == nil || cfg.Spec.Root == nil || cfg.Spec.Linux == nil {
		return failed(fmt.Errorf("run: %w: ID, Spec.Process, Spec.Root and Spec.Linux are required", ErrInvalidConfig))
	}
	tr := newTracer("parent", os.Getenv("CTRLITE_RUNNER_TRACE") == "1")
	s := *cfg.Spec
	if s.Hostname == "" {
		s.Hostname = shortID(cfg.ID)
	}
	proc := *s.Process
	proc.Env = withDefault(proc.Env, "HOSTNAME", s.Hostname)
	s.Process = &proc
	profile, err := apparmor.Resolve(ctx, proc.ApparmorProfile)
	if err != nil {
		return failed(fmt.Errorf("run %s: %w", cfg.ID, err))
	}
	proc.ApparmorProfile = profile
	stateDir := cfg.StateDir
	if stateDir == "" {
		d, err := os.MkdirTemp("", "ctr-lite-run-")
		if err != nil {
			return failed(fmt.Errorf("run %s: %w", cfg.ID, err))
		}
		defer os.RemoveAll(d)
		stateDir = d
	}
	cg := cgroups.None()
	if !cfg.NoCgroup {
		if cg, err = cgroups.New(SpecCgroupPath(&s, cfg.ID), s.Linux.Resources); err != nil {
			return failed(fmt.Errorf("run %s: %w", cfg.ID, err))
		}
	}
	tr.mark("cgroup create")
	defer func() {
		_ = cg.Delete()
		tr.mark("cgroup delete")
	}()
	return start(ctx, cfg, &s, cg, stdio, stateDir, tr)
}

// childConfig finishes s and makes the child's config from it while the
// child starts: the /etc files and their mounts, the saved spec (for
// Exec), the compiled seccomp filter and the v1 hierarchies.
func childConfig(cfg Config, s *specs.Spec, stateDir string, tr *tracer) (*initConfig, error) {
	mounts, err := EtcFiles(stateDir, s)
	if err != nil {
		return nil, err
	}
	s.Mounts = append(append([]specs.Mount(nil), s.Mounts...), mounts...)
	if err := saveSpec(stateDir, s); err != nil {
		return nil, err
	}
	tr.mark("etc files+spec")
	ic := &initConfig{Spec: childSpec(s), RootMounts: cfg.RootMounts, Trace: tr.on}
	if s.Linux.Seccomp != nil {
		if ic.Seccomp, err = seccomp.Compile(s.Linux.Seccomp); err != nil {
			return nil, err
		}
	}
	tr.mark("seccomp compile")
	if !cgroups.Unified() {
		ic.CgroupV1 = cgroups.V1Hierarchies()
	}
	return ic, nil
}

func cloneFlags(s *specs.Spec) uintptr {
	var f uintptr
	for _, n := range s.Linux.Namespaces {
		if n.Path != "" {
			continue // joined by the child (joinNamespaces)
		}
		switch n.Type {
		case specs.MountNamespace:
			f |= unix.CLONE_NEWNS
		case specs.PIDNamespace:
			f |= unix.CLONE_NEWPID
		case specs.UTSNamespace:
			f |= unix.CLONE_NEWUTS
		case specs.IPCNamespace:
			f |= unix.CLONE_NEWIPC
		case specs.NetworkNamespace:
			f |= unix.CLONE_NEWNET
		}
	}
	return f // the cgroup namespace is made by the child once inside its cgroup
}

// SpecCgroupPath is where Run puts the cgroup of container id run with s:
// Linux.CgroupsPath when set, else <parent>/<id> with the --cgroup-parent
// annotation or "ctr-lite" as parent.
func SpecCgroupPath(s *specs.Spec, id string) string {
	if s.Linux.CgroupsPath != "" {
		return s.Linux.CgroupsPath
	}
	parent := s.Annotations[rspec.AnnotationCgroupParent]
	if parent == "" {
		parent = "ctr-lite"
	}
	return CgroupPath(parent, id)
}

// CgroupPath is where Run puts container id's cgroup under parent.
func CgroupPath(parent, id string) string { return path.Join("/", parent, id) }

// withDefault appends key=val unless env already sets key.
func withDefault(env []string, key, val string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return env
		}
	}
	return append(append([]string(nil), env...), key+"="+val)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
