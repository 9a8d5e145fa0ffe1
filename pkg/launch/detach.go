package launch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/image"
)

// MonitorCmd is the command line that runs a container's monitor: Args
// with the container id appended must end up in Monitor, with the ready
// pipe as fd 3 (`ctr-lite --root R monitor-internal ID`).
type MonitorCmd struct {
	Path string
	Args []string
}

// monitorLog collects what a monitor prints after it detached (its
// stdout and stderr), in the container's directory.
const monitorLog = "monitor.log"

// ready is what a monitor tells the process that started it.
type ready struct {
	OK    bool   `json:"ok,omitempty"`
	Code  int    `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// RunDetached creates the container as Run does (pull, snapshots, record:
// errors here are the caller's, 125), then starts its monitor and returns
// the container id once the process runs. When it cannot run (126, 127,
// 125), the error carries the status and the record says exited.
func RunDetached(ctx context.Context, st *content.Store, f image.Fetcher, opts Options, mon MonitorCmd) (string, error) {
	if opts.Notice == nil {
		opts.Notice = func(string) {}
	}
	cs := container.NewStore(st.Root())
	p, err := create(ctx, st, f, cs, &opts)
	if err != nil {
		_, err = exit125(err)
		return "", err
	}
	// The monitor takes the use over: it is recorded (rm refuses a
	// container whose monitor lives) before the use lock is let go.
	if err := spawnMonitor(ctx, cs, p.c.ID, mon, p.release); err != nil {
		return p.c.ID, err
	}
	return p.c.ID, nil
}

// Start starts a container that is not running again, on its kept upper
// layer, with a new monitor, and returns it once its process runs. A
// running container is left as it is.
func Start(ctx context.Context, st *content.Store, ref string, mon MonitorCmd) (*container.Container, error) {
	cs := container.NewStore(st.Root())
	c, err := cs.Load(ctx, ref)
	if err != nil {
		return nil, err
	}
	if c.Status == container.Running {
		return c, nil
	}
	if err := spawnMonitor(ctx, cs, c.ID, mon, func() {}); err != nil {
		return c, err
	}
	return c, nil
}

// spawnMonitor starts the monitor of container id in a session of its
// own, stdio detached, records it, calls handOff, and waits until it says
// the container runs or could not start.
func spawnMonitor(ctx context.Context, cs *container.Store, id string, mon MonitorCmd, handOff func()) error {
	r, w, err := os.Pipe()
	if err != nil {
		return &errdefs.ExitError{Code: 125, Err: fmt.Errorf("start monitor: %w", err)}
	}
	defer r.Close()
	logf, err := os.OpenFile(filepath.Join(cs.Dir(id), monitorLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		w.Close()
		return &errdefs.ExitError{Code: 125, Err: fmt.Errorf("start monitor: %w", err)}
	}
	defer logf.Close()
	cmd := exec.Command(mon.Path, append(append([]string(nil), mon.Args...), id)...)
	cmd.Stdout, cmd.Stderr = logf, logf // stdin: /dev/null
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		handOff()
		return &errdefs.ExitError{Code: 125, Err: fmt.Errorf("start monitor: %w", err)}
	}
	if err := cs.SetMonitor(context.WithoutCancel(ctx), id, cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		handOff()
		return &errdefs.ExitError{Code: 125, Err: fmt.Errorf("start monitor: %w", err)}
	}
	handOff()
	var msg ready
	b, rerr := io.ReadAll(r)
	if rerr == nil && len(b) > 0 {
		rerr = json.Unmarshal(b, &msg)
	}
	if msg.OK {
		return cmd.Process.Release() // it lives on, in its own session
	}
	// It failed: let it finish the container (record, --rm) first.
	werr := cmd.Wait()
	switch {
	case msg.Error != "":
		return &errdefs.ExitError{Code: msg.Code, Err: errors.New(msg.Error)}
	case rerr != nil:
		return &errdefs.ExitError{Code: 125, Err: fmt.Errorf("start monitor: %w", rerr)}
	default:
		return &errdefs.ExitError{Code: 125, Err: fmt.Errorf("monitor of %s ended before the container ran (%v): see %s",
			container.ShortID(id), werr, filepath.Join(cs.Dir(id), monitorLog))}
	}
}
