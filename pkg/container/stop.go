package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"golang.org/x/sys/unix"
)

// poll is how often Stop, Wait and Remove look at a process or record.
const poll = 20 * time.Millisecond

// monitorGrace is how long a monitor may take to record a container's exit
// and tear it down once its process is gone.
const monitorGrace = 10 * time.Second

// Stop sends the container its stop signal (the image's StopSignal, else
// SIGTERM), then SIGKILL when it is still running after timeout, and
// returns once its monitor has recorded the exit. A container that is not
// running is left as it is.
func (s *Store) Stop(ctx context.Context, ref string, timeout time.Duration) error {
	c, err := s.Load(ctx, ref)
	if err != nil {
		return err
	}
	if c.Status != Running {
		return nil
	}
	sig := int(unix.SIGTERM)
	if c.StopSignal != "" {
		if sig, err = ParseSignal(c.StopSignal); err != nil {
			return fmt.Errorf("stop %s: image's StopSignal: %w", c.ShortID(), err)
		}
	}
	if err := signalProcess(c.Pid, c.PidStart, sig); err != nil && !errors.Is(err, ErrNotRunning) {
		return fmt.Errorf("stop %s: %w", c.ShortID(), err)
	}
	if _, err := waitGone(ctx, c.Pid, c.PidStart, timeout); err != nil {
		return fmt.Errorf("stop %s: %w", c.ShortID(), err)
	}
	// SIGKILL if it is still there (else nothing to kill), then wait for
	// the monitor to record the exit, killing it if it is stuck.
	if err := s.reap(ctx, c); err != nil {
		return fmt.Errorf("stop %s: %w", c.ShortID(), err)
	}
	return nil
}

// reap kills the container's process (SIGKILL) and waits for it, then
// waits for its monitor to finish (killing it if it does not).
func (s *Store) reap(ctx context.Context, c *Container) error {
	if c.Pid > 0 {
		if err := signalProcess(c.Pid, c.PidStart, 9); err != nil && !errors.Is(err, ErrNotRunning) {
			return err
		}
		if _, err := waitGone(ctx, c.Pid, c.PidStart, -1); err != nil {
			return err
		}
	}
	if c.MonitorPid > 0 && c.MonitorPid != os.Getpid() { // the monitor removing its container (--rm)
		gone, err := waitGone(ctx, c.MonitorPid, c.MonitorStart, monitorGrace)
		if err != nil {
			return err
		}
		if !gone {
			_ = signalProcess(c.MonitorPid, c.MonitorStart, 9)
			if _, err := waitGone(ctx, c.MonitorPid, c.MonitorStart, -1); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitGone waits until pid (started at start) is gone, up to timeout
// (< 0: no limit), and tells whether it is.
func waitGone(ctx context.Context, pid int, start uint64, timeout time.Duration) (bool, error) {
	var deadline <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	for alive(pid, start) {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-deadline:
			return false, nil
		case <-time.After(poll):
		}
	}
	return true, nil
}

// Wait blocks until the container has exited and its monitor is done
// (ExitUnknown when its monitor was killed), and returns its exit code.
// A container removed (--rm) after Wait saw it exited still gives its
// code; otherwise a removed container is errdefs.ErrNotFound.
func (s *Store) Wait(ctx context.Context, ref string) (int, error) {
	c, err := s.Load(ctx, ref)
	if err != nil {
		return 0, err
	}
	id := c.ID
	var exited *Container
	var grace <-chan time.Time
	for {
		if c.Status == Exited {
			if exited == nil {
				exited = c
				t := time.NewTimer(monitorGrace)
				defer t.Stop()
				grace = t.C
			}
			if c.MonitorPid <= 0 || c.MonitorPid == os.Getpid() || !alive(c.MonitorPid, c.MonitorStart) {
				return c.ExitCode, nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait %s: %w", c.ShortID(), ctx.Err())
		case <-grace:
			return exited.ExitCode, nil
		case <-time.After(poll):
		}
		if c, err = s.Load(ctx, id); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				if exited != nil {
					return exited.ExitCode, nil
				}
				return 0, fmt.Errorf("wait %s: removed: %w", ShortID(id), err)
			}
			return 0, err
		}
	}
}
