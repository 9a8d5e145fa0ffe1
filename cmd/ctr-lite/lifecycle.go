package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/crilog"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/launch"
	"github.com/spf13/cobra"
)

func init() {
	register("monitor-internal", newMonitorCmd)
	register("logs", newLogsCmd)
	register("stop", newStopCmd)
	register("wait", newWaitCmd)
	register("start", newStartCmd)
	register("attach", newAttachCmd)
}

// monitorCmd is how this binary runs a container's monitor, with the
// global flags that matter to it.
func (g *globals) monitorCmd() (launch.MonitorCmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return launch.MonitorCmd{}, fmt.Errorf("start monitor: %w", err)
	}
	args := []string{"--root", g.root, "--config", g.config}
	if g.plainHTTP {
		args = append(args, "--plain-http")
	}
	for _, h := range g.insecure {
		args = append(args, "--insecure-registry", h)
	}
	return launch.MonitorCmd{Path: exe, Args: append(args, "monitor-internal")}, nil
}

// parseLogOpts reads --log-opt values; max-size is the one known.
func parseLogOpts(opts []string) (int64, error) {
	var max int64
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		if k != "max-size" {
			return 0, &errdefs.ExitError{Code: 125, Err: fmt.Errorf("--log-opt %q: want max-size=SIZE", o)}
		}
		n, err := parseMemory(v)
		if err != nil {
			return 0, &errdefs.ExitError{Code: 125, Err: fmt.Errorf("--log-opt %q: want a size such as 10m", o)}
		}
		max = n
	}
	return max, nil
}

// completeContainers offers container names and short ids; running only
// offers the running ones.
func completeContainers(g *globals, running bool) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		cs, err := g.containers()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, err := cs.List(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, c := range list {
			if running && c.Status != container.Running {
				continue
			}
			if c.Name != "" {
				out = append(out, c.Name)
			}
			out = append(out, c.ShortID())
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func newMonitorCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "monitor-internal CONTAINER",
		Short:  "Run a detached container (started by run -d and start)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ready := os.NewFile(3, "ready")
			st, rc, err := g.clients()
			if err != nil {
				launch.MonitorFailed(ready, 125, err)
				return &errdefs.ExitError{Code: 125, Err: err}
			}
			if code := launch.Monitor(cmd.Context(), st, rc, args[0], ready); code != 0 {
				return &errdefs.ExitError{Code: code}
			}
			return nil
		},
	}
}

func newLogsCmd(g *globals) *cobra.Command {
	var (
		follow, timestamps bool
		tail               string
	)
	cmd := &cobra.Command{
		Use:     "logs [-f] [--tail N] [-t] CONTAINER",
		GroupID: "containers",
		Short:   "Print the output of a detached container",
		Long: `Logs prints what a container started with run -d (or start) wrote: its
stdout to stdout and its stderr to stderr (a container with a terminal
logs its terminal's output, as stdout). The log is in the format of the
Kubernetes CRI, <container dir>/ctr.log, rotated at run --log-opt max-size.`,
		Example: `  ctr-lite logs web
  ctr-lite logs -f --tail 10 web
  ctr-lite logs -t 3f2a9c1d 2>/dev/null`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeContainers(g, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := -1
			if tail != "all" {
				var err error
				if n, err = strconv.Atoi(tail); err != nil || n < 0 {
					return usageError("--tail %q: want a number of lines or all", tail)
				}
			}
			cs, err := g.containers()
			if err != nil {
				return err
			}
			c, err := cs.Load(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			opts := crilog.Options{Tail: n, Timestamps: timestamps}
			if follow {
				opts.Running = func() bool {
					c, err := cs.Load(cmd.Context(), c.ID)
					return err == nil && c.Active()
				}
			}
			if err := crilog.Copy(cmd.Context(), cs.LogPath(c.ID), opts, cmd.OutOrStdout(), cmd.ErrOrStderr()); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("logs %s: no log (it was not run with -d)", c.ShortID())
				}
				return fmt.Errorf("logs %s: %w", c.ShortID(), err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "keep printing the output until the container exits")
	f.StringVar(&tail, "tail", "all", "print only the last `N` lines")
	f.BoolVarP(&timestamps, "timestamps", "t", false, "prefix each line with its time (RFC 3339)")
	return cmd
}

func newStopCmd(g *globals) *cobra.Command {
	var seconds int
	cmd := &cobra.Command{
		Use:     "stop [-t SECONDS] CONTAINER...",
		GroupID: "containers",
		Short:   "Stop running containers (stop signal, then SIGKILL)",
		Long: `Stop sends each container the image's StopSignal (SIGTERM when it has
none), waits up to -t seconds for it to exit, then kills it (SIGKILL, exit
status 137), and returns once its exit is recorded. A process that is PID 1
of its container ignores signals it has no handler for, as under docker.`,
		Example: `  ctr-lite stop web
  ctr-lite stop -t 2 $(ctr-lite ps -q)`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeContainers(g, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			if seconds < 0 {
				return usageError("-t %d: want 0 or more seconds", seconds)
			}
			cs, err := g.containers()
			if err != nil {
				return err
			}
			return eachContainer(cmd, args, func(ref string) error {
				return cs.Stop(cmd.Context(), ref, time.Duration(seconds)*time.Second)
			})
		},
	}
	cmd.Flags().IntVarP(&seconds, "time", "t", 10, "seconds to wait before killing")
	return cmd
}

// eachContainer runs fn on every ref, printing the ref when it worked and
// the error when not (exit status 1 then), as docker does.
func eachContainer(cmd *cobra.Command, refs []string, fn func(ref string) error) error {
	return eachContainerOut(cmd, refs, func(ref string) (string, error) { return ref, fn(ref) })
}

// eachContainerOut is eachContainer printing what fn returns.
func eachContainerOut(cmd *cobra.Command, refs []string, fn func(ref string) (string, error)) error {
	var failed error
	for _, ref := range refs {
		out, err := fn(ref)
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "ctr-lite: %v\n", err)
			failed = &errdefs.ExitError{Code: 1}
			continue
		}
		fmt.Fprintln(cmd.OutOrStdout(), out)
	}
	return failed
}

func newWaitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "wait CONTAINER...",
		GroupID: "containers",
		Short:   "Wait for containers to exit and print their exit codes",
		Long: `Wait blocks until each container has exited and prints its exit code, one
line per container (-1 when its monitor was killed and the code is unknown).`,
		Example: `  ctr-lite wait web
  code=$(ctr-lite wait job)`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeContainers(g, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := g.containers()
			if err != nil {
				return err
			}
			return eachContainerOut(cmd, args, func(ref string) (string, error) {
				code, err := cs.Wait(cmd.Context(), ref)
				return strconv.Itoa(code), err
			})
		},
	}
}

func newStartCmd(g *globals) *cobra.Command {
	var attach bool
	cmd := &cobra.Command{
		Use:     "start [-a] CONTAINER...",
		GroupID: "containers",
		Short:   "Start stopped containers again, in the background",
		Long: `Start runs an exited (or created) container again with a new monitor, as
run -d would, on the writable layer it kept: files it wrote before are
still there. With -a it attaches (see attach) and exits with the
container's status.`,
		Example: `  ctr-lite start web
  ctr-lite start -a job`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeContainers(g, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if attach && len(args) > 1 {
				return usageError("-a attaches to one container")
			}
			st, err := g.store()
			if err != nil {
				return err
			}
			mon, err := g.monitorCmd()
			if err != nil {
				return err
			}
			if attach {
				since := time.Now() // the output of this run, from its start
				c, err := launch.Start(cmd.Context(), st, args[0], mon)
				if err != nil {
					return err
				}
				return attachTo(cmd, g, c.ID, since)
			}
			return eachContainer(cmd, args, func(ref string) error {
				_, err := launch.Start(cmd.Context(), st, ref, mon)
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "attach to the container's output (and terminal)")
	return cmd
}

func newAttachCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "attach CONTAINER",
		GroupID: "containers",
		Short:   "Attach to a running container's terminal (or output)",
		Long: `Attach connects this terminal to a container run with -it -d: what you type
goes to it, its output comes here. Type ctrl-p ctrl-q to detach and leave
it running. A container without a terminal shows its output from now on.
Attach exits with the container's status when it exits.`,
		Example: `  ctr-lite run -dit --name box busybox sh
  ctr-lite attach box`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeContainers(g, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			return attachTo(cmd, g, args[0], time.Time{})
		},
	}
}

func attachTo(cmd *cobra.Command, g *globals, ref string, since time.Time) error {
	st, err := g.store()
	if err != nil {
		return err
	}
	code, detached, err := launch.Attach(cmd.Context(), st, ref, since, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if detached {
		fmt.Fprintln(cmd.ErrOrStderr(), "\r\nctr-lite: detached; the container runs on")
		return nil
	}
	if code != 0 {
		return &errdefs.ExitError{Code: code}
	}
	return nil
}
