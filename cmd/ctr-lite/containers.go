package main

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/network"
	"github.com/spf13/cobra"
)

func init() { register("ps", newPsCmd); register("kill", newKillCmd); register("rm", newRmCmd) }

func newPsCmd(g *globals) *cobra.Command {
	var (
		all, quiet, asJSON bool
		filters            []string
	)
	cmd := &cobra.Command{
		Use:     "ps [-a] [--filter status=STATUS]",
		GroupID: "containers",
		Short:   "List containers",
		Long: `Ps lists the running containers (-a: all). STATUS is as docker's: "Up 3
seconds", "Exited (0) 3 seconds ago", "Created"; "Exited (unknown)" when
the process that ran the container (its monitor, or its ctr-lite run) was
killed before it could record the exit (--json: monitor_lost).`,
		Example: `  ctr-lite ps
  ctr-lite ps -a --json
  ctr-lite ps --filter status=exited -q`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := g.containers()
			if err != nil {
				return err
			}
			want, err := statusFilter(filters)
			if err != nil {
				return err
			}
			list, err := cs.List(cmd.Context())
			if err != nil {
				return err
			}
			shown := list[:0:0]
			for _, c := range list {
				if want[c.Status] || (want == nil && (all || c.Status == container.Running)) {
					shown = append(shown, c)
				}
			}
			out := cmd.OutOrStdout()
			switch {
			case asJSON:
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(shown)
			case quiet:
				for _, c := range shown {
					fmt.Fprintln(out, c.ShortID())
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAME")
			for _, c := range shown {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ShortID(), c.Image, quoteCommand(c.Command),
					ago(c.Created), status(c), portsColumn(c.Ports), c.Name)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "also list containers that are not running")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only container ids")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringArrayVarP(&filters, "filter", "f", nil, "list only containers with `status=created|running|exited` (repeatable: any of them)")
	return cmd
}

// statusFilter reads --filter status=S values (nil: no filter).
func statusFilter(filters []string) (map[container.Status]bool, error) {
	if len(filters) == 0 {
		return nil, nil
	}
	want := map[container.Status]bool{}
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		st := container.Status(v)
		if k != "status" || (st != container.Created && st != container.Running && st != container.Exited) {
			return nil, usageError("--filter %q: want status=created, running or exited", f)
		}
		want[st] = true
	}
	return want, nil
}

// portsColumn shows published ports as docker's ps does:
// 0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp.
func portsColumn(ports []network.Port) string {
	out := make([]string, len(ports))
	for i, p := range ports {
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		out[i] = fmt.Sprintf("%s->%d/%s", net.JoinHostPort(ip, strconv.Itoa(p.HostPort)), p.ContainerPort, p.Protocol)
	}
	return strings.Join(out, ", ")
}

func quoteCommand(args []string) string {
	s := strings.Join(args, " ")
	if len(s) > 30 {
		s = s[:29] + "…"
	}
	return `"` + s + `"`
}

func status(c container.Container) string {
	switch c.Status {
	case container.Running:
		return "Up " + strings.TrimSuffix(ago(c.Started), " ago")
	case container.Exited:
		if c.ExitCode == container.ExitUnknown {
			return "Exited (unknown)" // its monitor was killed: nobody saw the status
		}
		return fmt.Sprintf("Exited (%d) %s", c.ExitCode, ago(c.Finished))
	case container.Created:
		return "Created"
	}
	return string(c.Status)
}

// ago is how long since t, as docker prints it ("3 seconds ago").
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return humanDuration(time.Since(t)) + " ago"
}

// humanDuration reads d as docker's ps does: "Less than a second",
// "1 second", "About a minute", "3 hours", "2 weeks".
func humanDuration(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s < 60:
		return plural(s, "second")
	case d < 2*time.Minute:
		return "About a minute"
	case d < 46*time.Minute:
		return plural(int(d.Minutes()), "minute")
	case d < 90*time.Minute:
		return "About an hour"
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour")
	case d < 14*24*time.Hour:
		return plural(int(d.Hours()/24), "day")
	case d < 60*24*time.Hour:
		return plural(int(d.Hours()/24/7), "week")
	case d < 365*24*time.Hour:
		return plural(int(d.Hours()/24/30), "month")
	}
	return plural(int(d.Hours()/24/365), "year")
}

func newKillCmd(g *globals) *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:     "kill [-s SIGNAL] CONTAINER...",
		GroupID: "containers",
		Short:   "Send a signal (default KILL) to running containers",
		Long: `Kill sends SIGNAL (a name such as TERM or SIGHUP, or a number; default
KILL) to each container's process. The older form "kill CONTAINER SIGNAL"
works too.`,
		Example: `  ctr-lite kill web
  ctr-lite kill -s HUP web
  ctr-lite kill 3f2a9c1d TERM`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeContainers(g, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			sig := 9
			if signal != "" {
				var err error
				if sig, err = container.ParseSignal(signal); err != nil {
					return usageError("%v", err)
				}
			} else if len(args) == 2 {
				if n, err := container.ParseSignal(args[1]); err == nil {
					sig, args = n, args[:1] // kill CONTAINER SIGNAL
				}
			}
			cs, err := g.containers()
			if err != nil {
				return err
			}
			return eachContainer(cmd, args, func(ref string) error { return cs.Kill(cmd.Context(), ref, sig) })
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "`SIGNAL` to send (default KILL)")
	return cmd
}

func newRmCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [-f] CONTAINER...",
		GroupID: "containers",
		Short:   "Remove containers (and their writable layers)",
		Example: `  ctr-lite rm web
  ctr-lite rm -f $(ctr-lite ps -aq)`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeContainers(g, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := g.containers()
			if err != nil {
				return err
			}
			return eachContainer(cmd, args, func(ref string) error { return cs.Remove(cmd.Context(), ref, force) })
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a running container (and its monitor) first, then remove it")
	return cmd
}
