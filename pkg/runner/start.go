package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"runtime"
	"strconv"
	"syscall"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/runner/cgroups"
)

// start runs the parent's side of the protocol (protocol.go), one step
// after the other.
// The child's config is made while the child starts (its Go runtime
// takes a few milliseconds before it reads it).
func start(ctx context.Context, cfg Config, s *specs.Spec, cg *cgroups.Cgroup, stdio Stdio, stateDir string, tr *tracer) (int, error) {
	p, err := spawn(cfg.ID, &initConfig{Spec: s}, cg, stdio, tr)
	if err != nil {
		return failed(err)
	}
	defer p.release()
	ic, err := childConfig(cfg, s, stateDir, tr)
	if err != nil {
		return p.abort(cfg.ID, err)
	}
	if cfg.Network != nil {
		stop, err := cfg.Network(p.cmd.Process.Pid)
		if err != nil {
			return p.abort(cfg.ID, err)
		}
		defer stop()
		tr.mark("network")
	}
	if err := p.handshake(ic, cg, stdio, tr); err != nil {
		return p.abort(cfg.ID, err)
	}
	p.announce(stateDir, cfg.Started)
	return p.supervise(ctx, cfg.ID, cg, tr)
}

// initProc is the parent's handle on the child during the protocol.
type initProc struct {
	cmd        *exec.Cmd
	cfgR, cfgW *os.File // the config pipe P
	sock, peer *os.File // the sync socketpair S: ours, the child's
	cgDir      *os.File // the v2 cgroup directory for CLONE_INTO_CGROUP, or nil
	born       bool     // v1: the child was forked inside its cgroup (startInCgroup)
	sigs       chan os.Signal
	cons       *console // with -t, once received
}

// spawn (step 1) makes the pipe and the socketpair and starts the child
// from the sealed binary in its new namespaces (and, on v2, directly in
// its cgroup). Signals for the container are queued from before the start.
func spawn(id string, ic *initConfig, cg *cgroups.Cgroup, stdio Stdio, tr *tracer) (*initProc, error) {
	p, err := prepare(id, ic, cg, stdio, tr)
	if err != nil {
		return nil, err
	}
	p.cmd.SysProcAttr.Cloneflags = cloneFlags(ic.Spec)
	if p.cgDir != nil {
		err = p.startChild(id, tr)
	} else {
		err = p.startInCgroup(id, cg, tr)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// startInCgroup (step 1 on v1 hosts) starts the child from a locked
// thread that first moves itself into the container's cgroup
// (cgroups.Enter): the child is born in it, as CLONE_INTO_CGROUP does on
// v2, and join has nothing left to do; moving the running child there
// instead waits for an RCU grace period, some 10 ms. The thread then goes
// back to its own cgroups and to the Go scheduler. It must not end while
// the child lives: the child's parent-death signal is bound to the thread
// that forked it. Only if it cannot go back does the start fail: the
// child is killed and waited for, and the thread, left locked, ends with
// its goroutine. Where the cgroup cannot be entered (see Enter) the child
// is started as before, and join adds it.
func (p *initProc) startInCgroup(id string, cg *cgroups.Cgroup, tr *tracer) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		leave, err := cg.Enter()
		if err == nil {
			err = p.startChild(id, tr)
			p.born = err == nil
		} else {
			err = nil // started below, outside the cgroup
		}
		if lerr := leave(); lerr != nil {
			if p.born {
				_ = unix.Kill(p.cmd.Process.Pid, unix.SIGKILL)
				_ = p.cmd.Wait()
			}
			p.release()
			errc <- fmt.Errorf("run %s: %w", id, lerr)
			return // the thread, still locked, ends with this goroutine
		}
		runtime.UnlockOSThread()
		if err == nil && !p.born {
			err = p.startChild(id, tr)
		}
		errc <- err
	}()
	return <-errc
}

// prepare makes the pipe, the socketpair and the command of step 1,
// without starting it.
func prepare(id string, ic *initConfig, cg *cgroups.Cgroup, stdio Stdio, tr *tracer) (*initProc, error) {
	s := ic.Spec
	exe, err := sealedExe()
	if err != nil {
		return nil, err
	}
	tr.mark("sealed exe")
	p := &initProc{}
	if p.cfgR, p.cfgW, err = os.Pipe(); err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		p.release()
		return nil, fmt.Errorf("run %s: socketpair: %w", id, err)
	}
	p.sock, p.peer = os.NewFile(uintptr(pair[0]), "sync"), os.NewFile(uintptr(pair[1]), "sync-child")
	p.cmd = &exec.Cmd{
		Path:        fdPath(int(exe.Fd())),
		Args:        []string{"ctr-lite-init", id},
		Env:         []string{envInit + "=1"},
		ExtraFiles:  []*os.File{p.cfgR, p.peer},
		SysProcAttr: &syscall.SysProcAttr{},
	}
	if !ic.Join {
		// Exec's child is no pid namespace's init: Go's check that the
		// parent is alive (getppid, 0 from the container's pid namespace)
		// would kill it. Its Init sets the signal itself.
		p.cmd.SysProcAttr.Pdeathsig = unix.SIGKILL
	}
	if !s.Process.Terminal {
		p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = stdio.In, stdio.Out, stdio.Err
	}
	if d := cg.UnifiedDir(); d != "" {
		if p.cgDir, err = os.Open(d); err == nil {
			p.cmd.SysProcAttr.UseCgroupFD = true
			p.cmd.SysProcAttr.CgroupFD = int(p.cgDir.Fd())
		}
	}
	return p, nil
}

// startChild starts the prepared command (from the calling thread: its
// namespaces are the child's) and closes the child's ends. Signals for
// the container are queued from before the start.
func (p *initProc) startChild(id string, tr *tracer) error {
	p.sigs = make(chan os.Signal, 16)
	signal.Notify(p.sigs, forwarded...)
	if err := p.cmd.Start(); err != nil {
		p.release()
		return fmt.Errorf("run %s: start init: %w", id, err)
	}
	tr.mark("clone+exec init")
	p.cfgR.Close()
	p.peer.Close()
	return nil
}

// handshake runs steps 2 to 5: the child is in its cgroup, has its
// config, (-t) has sent its pty master, and has exec'd the command.
func (p *initProc) handshake(ic *initConfig, cg *cgroups.Cgroup, stdio Stdio, tr *tracer) error {
	if err := p.join(cg); err != nil {
		return err
	}
	if err := p.sendConfig(ic); err != nil {
		return err
	}
	tr.mark("cgroup add+config")
	if ic.Spec.Process.Terminal {
		if err := p.recvConsole(stdio); err != nil {
			return err
		}
	}
	if err := p.awaitExec(); err != nil {
		return err
	}
	tr.mark("child setup to exec")
	return nil
}

// join (step 2) puts the child in its cgroup where it was not born in it
// (CLONE_INTO_CGROUP on v2, startInCgroup on v1), before it reads its
// config and can run.
func (p *initProc) join(cg *cgroups.Cgroup) error {
	if p.cgDir != nil || p.born {
		return nil
	}
	return cg.Add(p.cmd.Process.Pid)
}

// sendConfig (step 3) writes the initConfig and closes the pipe: EOF ends it.
func (p *initProc) sendConfig(ic *initConfig) error {
	if err := json.NewEncoder(p.cfgW).Encode(ic); err != nil {
		return fmt.Errorf("send config: %w", err)
	}
	return p.cfgW.Close()
}

// recvConsole (step 4, -t) receives the pty master the child opened in
// its devpts and starts copying between it and the caller's terminal.
func (p *initProc) recvConsole(stdio Stdio) error {
	m, f, ok, err := readSync(p.sock)
	if err != nil {
		return err
	}
	if !ok || m.Type != syncConsole || f == nil {
		if f != nil {
			f.Close()
		}
		return unexpected(m, "the pty master")
	}
	p.cons = startConsole(f, stdio)
	return nil
}

// awaitExec (step 5) reads the sync socket until EOF, which execve's
// close-on-exec gives once the command runs; a message means the child
// failed.
func (p *initProc) awaitExec() error {
	m, f, ok, err := readSync(p.sock)
	if err != nil {
		return err
	}
	if f != nil {
		f.Close()
	}
	if ok {
		return unexpected(m, "EOF")
	}
	return nil
}

// abort ends a failed handshake. A child that reported its own error
// exits by itself with that status; otherwise it is killed, and ctr-lite
// failed (125).
func (p *initProc) abort(id string, err error) (int, error) {
	var ee *errdefs.ExitError
	if errors.As(err, &ee) {
		_ = p.cmd.Wait()
		return ee.Code, err
	}
	_ = unix.Kill(p.cmd.Process.Pid, unix.SIGKILL)
	_ = p.cmd.Wait()
	return failed(fmt.Errorf("run %s: %w", id, err))
}

// announce (step 6) records the running container: its pid file, and the
// Started callback.
func (p *initProc) announce(stateDir string, started func(int)) {
	pid := p.cmd.Process.Pid
	if stateDir != "" {
		_ = os.WriteFile(path.Join(stateDir, "pid"), []byte(strconv.Itoa(pid)), 0o644)
	}
	if started != nil {
		started(pid)
	}
}

// supervise (step 7) forwards signals (and kills the container when ctx
// ends), waits for it and turns its end into Run's result.
func (p *initProc) supervise(ctx context.Context, id string, cg *cgroups.Cgroup, tr *tracer) (int, error) {
	done := make(chan struct{})
	defer close(done)
	go p.forward(ctx, done)
	werr := p.cmd.Wait()
	tr.mark("container ran")
	if p.cons != nil {
		p.cons.close()
	}
	code, err := status(p.cmd, werr)
	if err != nil {
		return failed(fmt.Errorf("run %s: wait: %w", id, err))
	}
	if code == CodeOOMKilled && cg.OOMKilled() {
		return code, &errdefs.ExitError{Code: code, Err: fmt.Errorf("%s: %w", id, ErrOOMKilled)}
	}
	if ctx.Err() != nil {
		return code, ctx.Err()
	}
	return code, nil
}

// status is the container's exit status: its own, or 128+N for signal N.
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

// forward passes queued and new signals on to the container until done,
// and kills it when ctx ends.
func (p *initProc) forward(ctx context.Context, done <-chan struct{}) {
	for {
		select {
		case sig := <-p.sigs:
			if sig == unix.SIGWINCH && p.cons != nil {
				continue // the pty delivers it after the resize
			}
			if sig == unix.SIGHUP && p.cons != nil {
				// Our terminal hung up: so does the container's (a
				// shell, PID 1, ignores a plain SIGHUP but not that).
				p.cons.hangup()
			}
			_ = p.cmd.Process.Signal(sig)
		case <-ctx.Done():
			_ = unix.Kill(p.cmd.Process.Pid, unix.SIGKILL)
			return
		case <-done:
			return
		}
	}
}

// release closes what spawn opened and stops the signal relay.
func (p *initProc) release() {
	if p.cons != nil {
		p.cons.close()
	}
	if p.sigs != nil {
		signal.Stop(p.sigs)
	}
	for _, f := range []*os.File{p.cgDir, p.peer, p.sock, p.cfgW, p.cfgR} {
		if f != nil {
			f.Close()
		}
	}
}
