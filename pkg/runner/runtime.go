package runner

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
)

// RunRuntime delegates to an external OCI runtime (`ctr-lite run --runtime
// runc|crun`): it runs `RUNTIME run -b dir id` on a bundle written by
// WriteBundle and returns the exit status as Run does (the runtime's own
// failures give 125).
func RunRuntime(ctx context.Context, runtime, dir, id string, stdio Stdio) (int, error) {
	bin, err := exec.LookPath(runtime)
	if err != nil {
		return failed(fmt.Errorf("runtime %s: %w", runtime, err))
	}
	cmd := exec.CommandContext(ctx, bin, "run", "-b", dir, id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.In, stdio.Out, stdio.Err
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	err = cmd.Run()
	var xe *exec.ExitError
	if err != nil && !errors.As(err, &xe) {
		return failed(fmt.Errorf("runtime %s: %w", runtime, err))
	}
	return status(cmd, err)
}
