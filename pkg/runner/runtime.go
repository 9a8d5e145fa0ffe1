package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RunRuntime delegates to an external OCI runtime (`ctr-lite run --runtime
// runc|crun`): it runs `RUNTIME run -b dir id` on a bundle written by
// WriteBundle and returns the exit status as Run does (the runtime's own
// failures give 125). started, when set, is called with the container's
// pid (host view) once the runtime has written it (--pid-file).
func RunRuntime(ctx context.Context, runtime, dir, id string, stdio Stdio, started func(pid int)) (int, error) {
	bin, err := exec.LookPath(runtime)
	if err != nil {
		return failed(fmt.Errorf("runtime %s: %w", runtime, err))
	}
	pidFile := filepath.Join(dir, "runtime.pid")
	_ = os.Remove(pidFile)
	cmd := exec.CommandContext(ctx, bin, "run", "--pid-file", pidFile, "-b", dir, id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.In, stdio.Out, stdio.Err
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if err := cmd.Start(); err != nil {
		return failed(fmt.Errorf("runtime %s: %w", runtime, err))
	}
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watchPidFile(pidFile, done, started)
	}()
	err = cmd.Wait()
	close(done)
	<-watched
	var xe *exec.ExitError
	if err != nil && !errors.As(err, &xe) {
		return failed(fmt.Errorf("runtime %s: %w", runtime, err))
	}
	return status(cmd, err)
}

// watchPidFile waits for the runtime's pid file and passes the pid on,
// until done.
func watchPidFile(p string, done <-chan struct{}, started func(int)) {
	if started == nil {
		return
	}
	for {
		if b, err := os.ReadFile(p); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				started(pid)
				return
			}
		}
		select {
		case <-done:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}
