package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/spf13/cobra"
)

func init() { register(newPsCmd); register(newKillCmd); register(newRmCmd) }

func newPsCmd(g *globals) *cobra.Command {
	var all, quiet, asJSON bool
	cmd := &cobra.Command{
		Use:     "ps [-a]",
		GroupID: "containers",
		Short:   "List containers",
		Example: `  ctr-lite ps
  ctr-lite ps -a --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := g.containers()
			if err != nil {
				return err
			}
			list, err := cs.List(cmd.Context())
			if err != nil {
				return err
			}
			shown := list[:0:0]
			for _, c := range list {
				if all || c.Status == container.Running {
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
			fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tNAME")
			for _, c := range shown {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ShortID(), c.Image, quoteCommand(c.Command),
					ago(c.Created), status(c), c.Name)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "also list containers that are not running")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only container ids")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
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
		return "Up " + ago(c.Started)
	case container.Exited:
		if c.ExitCode == container.ExitUnknown {
			return "Exited (unknown)" // its ctr-lite was killed: nobody saw the status
		}
		return fmt.Sprintf("Exited (%d) %s ago", c.ExitCode, strings.TrimSuffix(ago(c.Finished), " ago"))
	}
	return string(c.Status)
}

func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d seconds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func newKillCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "kill CONTAINER [SIGNAL]",
		GroupID: "containers",
		Short:   "Send a signal (default KILL) to a running container",
		Example: `  ctr-lite kill web
  ctr-lite kill 3f2a9c1d TERM`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			sig := 9
			if len(args) == 2 {
				var err error
				if sig, err = container.ParseSignal(args[1]); err != nil {
					return usageError("%v", err)
				}
			}
			cs, err := g.containers()
			if err != nil {
				return err
			}
			if err := cs.Kill(cmd.Context(), args[0], sig); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), args[0])
			return nil
		},
	}
}

func newRmCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [-f] CONTAINER...",
		GroupID: "containers",
		Short:   "Remove containers (and their writable layers)",
		Example: `  ctr-lite rm web
  ctr-lite rm -f $(ctr-lite ps -aq)`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := g.containers()
			if err != nil {
				return err
			}
			var failed error
			for _, a := range args {
				if err := cs.Remove(cmd.Context(), a, force); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "ctr-lite: %v\n", err)
					failed = &errdefs.ExitError{Code: 1}
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), a)
			}
			return failed
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first")
	return cmd
}
