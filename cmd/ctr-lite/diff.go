package main

import (
	"github.com/ctrlite/ctr-lite/pkg/inspect"
	"github.com/spf13/cobra"
)

func init() { register("diff", newDiffCmd) }

func newDiffCmd(g *globals) *cobra.Command {
	var (
		f      sourceFlags
		layers bool
	)
	cmd := &cobra.Command{
		Use:     "diff [flags] IMAGE_A IMAGE_B",
		GroupID: "inspect",
		Short:   "Files added, removed and changed between two images",
		Long: `Diff compares the merged file trees of two images path by path: added,
removed, and changed (size, mode, owner, content digest), with size deltas
and a summary. --layers compares the layer lists instead (shared, added and
removed layers, by uncompressed digest). Images are read from the store, or
from the registry when they are not stored (or with --remote).`,
		Example: `  ctr-lite diff myapp:1.3 myapp:1.4
  ctr-lite diff --layers --json debian:12 myapp:1.4`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeImages(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := f.open(cmd.Context(), g, args[0])
			if err != nil {
				return err
			}
			b, err := f.open(cmd.Context(), g, args[1])
			if err != nil {
				return err
			}
			rep, err := inspect.Diff(cmd.Context(), a, b, inspect.DiffOptions{Layers: layers})
			if err != nil {
				return err
			}
			if f.asJSON {
				return inspect.WriteJSON(cmd.OutOrStdout(), rep)
			}
			return inspect.WriteDiffTable(cmd.OutOrStdout(), rep)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&layers, "layers", false, "compare layer lists instead of file trees")
	return cmd
}
