package main

import (
	"fmt"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/gc"
	"github.com/ctrlite/ctr-lite/pkg/inspect"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/spf13/cobra"
)

func init() { register("gc", newGCCmd) }

func newGCCmd(g *globals) *cobra.Command {
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:     "gc",
		GroupID: "store",
		Short:   "Delete blobs, snapshots and partial downloads no stored image needs",
		Example: `  ctr-lite rmi alpine && ctr-lite gc
  ctr-lite gc --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, parts, err := g.parts()
			if err != nil {
				return err
			}
			res, err := gc.Collect(cmd.Context(), root, parts, dryRun)
			if err != nil {
				return err
			}
			if asJSON {
				return inspect.WriteJSON(cmd.OutOrStdout(), res)
			}
			verb := "deleted"
			if dryRun {
				verb = "would delete"
			}
			out := cmd.OutOrStdout()
			var (
				counts []string
				bytes  int64
			)
			for _, p := range res {
				for _, it := range p.Items {
					fmt.Fprintf(out, "%s %s %s (%s)\n", verb, it.Kind, it.ID, units.HumanSize(it.Size))
				}
				for _, c := range p.Counts {
					counts = append(counts, fmt.Sprintf("%d %s", c.N, c.What))
				}
				bytes += p.Bytes
			}
			fmt.Fprintf(out, "%s %s: %s freed\n", verb, strings.Join(counts, ", "), units.HumanSize(bytes))
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be deleted, delete nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was freed (would be, with --dry-run) as JSON, one object per part")
	return cmd
}
