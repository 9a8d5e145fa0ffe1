package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/spf13/cobra"
)

func init() { register(newImagesCmd); register(newTagCmd); register(newRmiCmd) }

func newImagesCmd(g *globals) *cobra.Command {
	var asJSON, quiet bool
	cmd := &cobra.Command{
		Use:     "images",
		Aliases: []string{"image", "ls"},
		GroupID: "images",
		Short:   "List stored images",
		Example: `  ctr-lite images
  ctr-lite images --json | jq -r '.[].name'
  ctr-lite images -q`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.store()
			if err != nil {
				return err
			}
			list, err := image.List(cmd.Context(), st)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case asJSON:
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if list == nil {
					list = []image.Summary{}
				}
				return enc.Encode(list)
			case quiet:
				for _, s := range list {
					fmt.Fprintln(out, s.Name)
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "REPOSITORY\tTAG\tDIGEST\tSIZE")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Repository, orNone(s.Tag), units.ShortDigest(s.Digest.String()), units.HumanSize(s.Size))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only full names")
	return cmd
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func newTagCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:               "tag SOURCE TARGET",
		GroupID:           "images",
		Short:             "Give a stored image another name",
		Example:           `  ctr-lite tag alpine:3.20 localhost:5000/base:prod`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeImages(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.store()
			if err != nil {
				return err
			}
			name, err := image.Tag(cmd.Context(), st, args[0], args[1])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), name)
			return nil
		},
	}
}

func newRmiCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "rmi NAME...",
		GroupID: "images",
		Short:   "Remove image names (blobs no name needs go at the next gc)",
		Example: `  ctr-lite rmi alpine busybox:1.38
  ctr-lite rmi alpine && ctr-lite gc`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeImages(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.store()
			if err != nil {
				return err
			}
			var failed error
			for _, a := range args {
				ref, err := reference.Parse(a)
				if err == nil {
					err = st.DeleteName(cmd.Context(), ref.String())
				}
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "ctr-lite: rmi %s: %v\n", a, err)
					failed = &errdefs.ExitError{Code: 1}
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Untagged: %s\n", ref)
			}
			return failed
		},
	}
}

// completeImages completes stored image names.
func completeImages(g *globals) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		st, err := g.store()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, err := image.List(cmd.Context(), st)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, s := range list {
			names = append(names, s.Familiar)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
