package main

import (
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/fsck"
	"github.com/spf13/cobra"
)

func init() { register("fsck", newFsckCmd) }

func newFsckCmd(g *globals) *cobra.Command {
	var repair bool
	cmd := &cobra.Command{
		Use:     "fsck [--repair]",
		GroupID: "store",
		Short:   "Verify every blob, name and snapshot under --root",
		Long: `Fsck re-hashes every blob and compares it with its name, walks every stored
image's manifests, checks that each snapshot is complete and built from the
layer its chain names, and looks for files left by crashes. It prints each
problem with its path and exits 1 when there is any.

--repair deletes corrupt blobs, broken snapshots and leftover temporary files;
the next pull re-fetches and the next unpack or run rebuilds what is missing.`,
		Example: `  ctr-lite fsck
  ctr-lite fsck --repair && ctr-lite pull alpine`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, parts, err := g.parts()
			if err != nil {
				return err
			}
			probs, err := fsck.Check(cmd.Context(), root, parts, repair)
			out := cmd.OutOrStdout()
			for _, p := range probs {
				fmt.Fprintln(out, p)
			}
			if err != nil {
				return err
			}
			if len(probs) == 0 {
				fmt.Fprintln(out, "no problems found")
				return nil
			}
			if repair {
				fmt.Fprintf(out, "%d problems found and repaired\n", len(probs))
				return nil
			}
			return &errdefs.ExitError{Code: 1, Err: fmt.Errorf("%d problems found (run with --repair to fix)", len(probs))}
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "delete what is broken so it is fetched or rebuilt again")
	return cmd
}
