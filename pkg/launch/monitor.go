package launch

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/crilog"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/runner"
)

// Monitor runs recorded container id as its monitor (the hidden
// `monitor-internal` command that RunDetached and Start spawn): the same
// start and finish as a foreground run, with the container's output going
// to its log (and, with a terminal, to `attach` clients through a unix
// socket). readyFd gets the ready message once the process runs, or the
// error if it cannot. It returns the container's exit status.
func Monitor(ctx context.Context, st *content.Store, f image.Fetcher, id string, readyFd *os.File) int {
	ctx = context.WithoutCancel(ctx) // the container's signals are forwarded instead
	var once sync.Once
	tell := func(m ready) { once.Do(func() { writeReady(readyFd, m) }) }
	cs := container.NewStore(st.Root())
	p, opts, err := reopen(ctx, st, f, cs, id)
	if err != nil {
		code, err := exit125(err)
		tell(ready{Code: code, Error: err.Error()})
		return code
	}
	code, err := monitor(ctx, st, cs, p, opts, func() { tell(ready{OK: true}) })
	if err != nil {
		var xe *errdefs.ExitError
		if errors.As(err, &xe) && xe.Err != nil {
			tell(ready{Code: xe.Code, Error: xe.Err.Error()})
		} else {
			tell(ready{Code: code, Error: err.Error()})
		}
	}
	tell(ready{Code: code, Error: "the container exited before it was seen running"})
	return code
}

func monitor(ctx context.Context, st *content.Store, cs *container.Store, p *prepared, opts Options, started func()) (code int, err error) {
	defer func() { finish(ctx, cs, p, opts, code, err) }()
	// The process that started this monitor recorded it (spawnMonitor).
	log, err := crilog.Open(cs.LogPath(p.c.ID), opts.LogMaxSize)
	if err != nil {
		return exit125(err)
	}
	defer log.Close()
	stdio := runner.Stdio{Out: log.Stream(crilog.Stdout), Err: log.Stream(crilog.Stderr)}
	if opts.Spec.Terminal {
		srv, err := serveAttach(cs.Dir(p.c.ID))
		if err != nil {
			return exit125(err)
		}
		defer srv.close()
		stdio = runner.Stdio{In: srv.in, Out: io.MultiWriter(log.Stream(crilog.Stdout), srv)}
	}
	return start(ctx, st, cs, p, opts, stdio, func(int) { started() })
}

// MonitorFailed tells the process that started a monitor (through its
// ready pipe) that the monitor could not even begin, with code and why.
func MonitorFailed(readyFd *os.File, code int, err error) {
	writeReady(readyFd, ready{Code: code, Error: err.Error()})
}

func writeReady(readyFd *os.File, m ready) {
	b, _ := json.Marshal(m)
	readyFd.Write(b)
	readyFd.Close()
}
