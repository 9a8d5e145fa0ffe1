package launch

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/runner"
)

// ExecOptions describe one `exec`.
type ExecOptions struct {
	Container string   // id, unique id prefix or name
	Args      []string // the command
	Env       []string // -e K=V (or K, copied from here), over the container's
	User      string   // -u user[:group]; "" is the container's user
	WorkDir   string   // -w; "" is the container's working directory
	Terminal  bool     // -t
	Stdin     bool     // -i: pass stdin through (otherwise /dev/null)
	Detach    bool     // -d: return once the command runs
}

// Exec runs a command in a running container, confined exactly as the
// container's init (runner.Exec), and returns its exit status as Run
// does. An unknown container is errdefs.ErrNotFound, one that does not run
// container.ErrNotRunning; both come as an *errdefs.ExitError with 125.
func Exec(ctx context.Context, cs *container.Store, opts ExecOptions, stdio runner.Stdio) (int, error) {
	c, err := cs.Load(ctx, opts.Container)
	if err != nil {
		return exit125(fmt.Errorf("exec: %w", err))
	}
	fd, err := c.OpenInit() // ErrNotRunning unless it runs
	if err != nil {
		return exit125(fmt.Errorf("exec %s: %w", c.ShortID(), err))
	}
	defer unix.Close(fd)
	if !opts.Stdin && !opts.Terminal {
		stdio.In = nil
	}
	// As with run, signals go to the command (the runner forwards them):
	// the caller's cancellation on Ctrl-C must not kill it.
	return runner.Exec(context.WithoutCancel(ctx), runner.ExecConfig{
		ID: c.ID, Pid: c.Pid, Pidfd: fd, StateDir: cs.Dir(c.ID),
		Args: opts.Args, Env: opts.Env, User: opts.User, Cwd: opts.WorkDir,
		Terminal: opts.Terminal, Detach: opts.Detach,
	}, stdio)
}
