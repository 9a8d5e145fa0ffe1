package main

import (
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/gc"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/spf13/cobra"
)

func init() { register(newGCCmd) }

func newGCCmd(g *globals) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:     "gc",
		GroupID: "store",
		Short:   "Delete blobs, snapshots and partial downloads no stored image needs",
		Example: `  ctr-lite rmi alpine && ctr-lite gc
  ctr-lite gc --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.store()
			if err != nil {
				return err
			}
			res, err := gc.Collect(cmd.Context(), st, gc.Options{DryRun: dryRun, InUse: g.containers().Chains})
			if err != nil {
				return err
			}
			verb := "deleted"
			if dryRun {
				verb = "would delete"
			}
			out := cmd.OutOrStdout()
			for _, b := range res.Content.Blobs {
				fmt.Fprintf(out, "%s blob %s (%s)\n", verb, b.Digest, units.HumanSize(b.Size))
			}
			for _, c := range res.Snapshots.Removed {
				fmt.Fprintf(out, "%s snapshot %s\n", verb, units.ShortDigest(c.String()))
			}
			fmt.Fprintf(out, "%s %d blobs, %d partial downloads, %d snapshots, %d unfinished snapshot builds: %s freed\n",
				verb, len(res.Content.Blobs), res.Content.Partials, len(res.Snapshots.Removed), res.Snapshots.Temp,
				units.HumanSize(res.Content.Bytes+res.Snapshots.Bytes))
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be deleted, delete nothing")
	return cmd
}
