package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path"
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
	stateDir := cfg.StateDir
	if stateDir == "" {
		d, err := os.MkdirTemp("", "ctr-lite-run-")
		if err != nil {
			return failed(fmt.Errorf("run %s: %w", cfg.ID, err))
		}
		defer os.RemoveAll(d)
		stateDir = d
	}
	mounts, err := EtcFiles(stateDir, s.Hostname, hasNS(&s, specs.NetworkNamespace), s.Mounts)
	if err != nil {
		return failed(fmt.Errorf("run %s: %w", cfg.ID, err))
	}
	s.Mounts = append(append([]specs.Mount(nil), s.Mounts...), mounts...)
	tr.mark("etc files")
	ic := initConfig{Spec: &s, RootMounts: cfg.RootMounts, Trace: tr.on}
	if s.Linux.Seccomp != nil {
		if ic.Seccomp, err = seccomp.Compile(s.Linux.Seccomp); err != nil {
			return failed(fmt.Errorf("run %s: %w", cfg.ID, err))
		}
	}
	tr.mark("seccomp compile")
	if !cgroups.Unified() {
		ic.CgroupV1 = cgroups.V1Hierarchies()
	}
	cg, err := cgroups.New(cgroupPath(&s, cfg.ID), s.Linux.Resources)
	if err != nil {
		return failed(fmt.Errorf("run %s: %w", cfg.ID, err))
	}
	tr.mark("cgroup create")
	defer func() {
		_ = cg.Delete()
		tr.mark("cgroup delete")
	}()
	return start(ctx, cfg, &ic, cg, stdio, stateDir, tr)
}

func start(ctx context.Context, cfg Config, ic *initConfig, cg *cgroups.Cgroup, stdio Stdio, stateDir string, tr *tracer) (int, error) {
	s := ic.Spec
	exe, err := sealedExe()
	if err != nil {
		return failed(err)
	}
	tr.mark("sealed exe")
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return failed(fmt.Errorf("run %s: %w", cfg.ID, err))
	}
	defer cfgR.Close()
	defer cfgW.Close()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return failed(fmt.Errorf("run %s: socketpair: %w", cfg.ID, err))
	}
	parentSock, childSock := os.NewFile(uintptr(pair[0]), "sync"), os.NewFile(uintptr(pair[1]), "sync-child")
	defer parentSock.Close()
	defer childSock.Close()

	cmd := &exec.Cmd{
		Path:       fdPath(int(exe.Fd())),
		Args:       []string{"ctr-lite-init", cfg.ID},
		Env:        []string{envInit + "=1"},
		ExtraFiles: []*os.File{cfgR, childSock},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: cloneFlags(s),
			Pdeathsig:  unix.SIGKILL,
		},
	}
	if !s.Process.Terminal {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.In, stdio.Out, stdio.Err
	}
	var cgDir *os.File
	if d := cg.UnifiedDir(); d != "" {
		if cgDir, err = os.Open(d); err == nil {
			defer cgDir.Close()
			cmd.SysProcAttr.UseCgroupFD = true
			cmd.SysProcAttr.CgroupFD = int(cgDir.Fd())
		}
	}
	// Catch signals from before the start: they are queued and forwarded
	// once the container runs.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return failed(fmt.Errorf("run %s: start init: %w", cfg.ID, err))
	}
	tr.mark("clone+exec init")
	cfgR.Close()
	childSock.Close()
	pid := cmd.Process.Pid
	kill := func() { _ = unix.Kill(pid, unix.SIGKILL) }
	fail := func(err error) (int, error) {
		kill()
		_ = cmd.Wait()
		return failed(fmt.Errorf("run %s: %w", cfg.ID, err))
	}
	if cgDir == nil {
		if err := cg.Add(pid); err != nil {
			return fail(err)
		}
	}
	if err := json.NewEncoder(cfgW).Encode(ic); err != nil {
		return fail(fmt.Errorf("send config: %w", err))
	}
	cfgW.Close()
	tr.mark("cgroup add+config")

	var cons *console
	if s.Process.Terminal {
		master, msg, err := recvMaster(parentSock)
		if err != nil {
			return fail(err)
		}
		if master == nil {
			return childFailed(cmd, msg)
		}
		cons = startConsole(master, stdio)
		defer cons.close()
	}
	// EOF on the sync socket: exec succeeded. Data: the child's error.
	msg, err := io.ReadAll(parentSock)
	if err != nil {
		return fail(fmt.Errorf("read init status: %w", err))
	}
	if len(msg) > 0 {
		return childFailed(cmd, msg)
	}
	tr.mark("child setup to exec")
	_ = os.WriteFile(path.Join(stateDir, "pid"), []byte(strconv.Itoa(pid)), 0o644)
	if cfg.Started != nil {
		cfg.Started(pid)
	}

	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == unix.SIGWINCH && cons != nil {
					continue // the pty delivers it after the resize
				}
				_ = cmd.Process.Signal(sig)
			case <-ctx.Done():
				kill()
				return
			case <-done:
				return
			}
		}
	}()
	werr := cmd.Wait()
	tr.mark("container ran")
	if cons != nil {
		cons.close()
	}
	code, err := status(cmd, werr)
	if err != nil {
		return failed(fmt.Errorf("run %s: wait: %w", cfg.ID, err))
	}
	if code == CodeOOMKilled && cg.OOMKilled() {
		return code, &errdefs.ExitError{Code: code, Err: fmt.Errorf("%s: %w", cfg.ID, ErrOOMKilled)}
	}
	if ctx.Err() != nil {
		return code, ctx.Err()
	}
	return code, nil
}

func childFailed(cmd *exec.Cmd, msg []byte) (int, error) {
	_ = cmd.Wait()
	var ce childError
	if err := json.Unmarshal(msg, &ce); err != nil {
		return failed(fmt.Errorf("container init: bad status %q", msg))
	}
	e := ce.err()
	var ee *errdefs.ExitError
	errors.As(e, &ee)
	return ee.Code, e
}

func status(cmd *exec.Cmd, werr error) (int, error) {
	var xe *exec.ExitError
	if werr != nil && !errors.As(werr, &xe) {
		return 0, werr
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return cmd.ProcessState.ExitCode(), nil
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

func cloneFlags(s *specs.Spec) uintptr {
	var f uintptr
	for _, n := range s.Linux.Namespaces {
		if n.Path != "" {
			continue // joining existing namespaces is not supported
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

// cgroupPath is Linux.CgroupsPath when set, else <parent>/<id> with the
// --cgroup-parent annotation or "ctr-lite" as parent.
func cgroupPath(s *specs.Spec, id string) string {
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
