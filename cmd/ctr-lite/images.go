package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/transfer"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/spf13/cobra"
)

func init() {
	register("images image ls", newImagesCmd)
	register("tag", newTagCmd)
	register("rmi", newRmiCmd)
}

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
	var remote bool
	cmd := &cobra.Command{
		Use:     "tag [--remote] SOURCE TARGET",
		GroupID: "images",
		Short:   "Give a stored image another name, or retag in a registry",
		Long: `Tag names a stored image also as TARGET. With --remote it names SOURCE's
manifest in its registry also as TARGET (a tag, or a reference in the same
repository) with one manifest upload: no blob moves.`,
		Example: `  ctr-lite tag alpine:3.20 localhost:5000/base:prod
  ctr-lite tag --remote registry.example.com/app:1.2 prod`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeImages(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			if remote {
				return tagRemote(cmd, g, args[0], args[1])
			}
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
	cmd.Flags().BoolVar(&remote, "remote", false, "retag in the registry, not in the local store")
	return cmd
}

// tagRemote retags src in its registry as dst: a bare tag, or a full
// reference.
func tagRemote(cmd *cobra.Command, g *globals, src, dst string) error {
	from, err := reference.Parse(src)
	if err != nil {
		return err
	}
	full := dst
	if !strings.ContainsAny(dst, "/:@") {
		full = from.Name() + ":" + dst
	}
	to, err := reference.Parse(full)
	if err != nil {
		return err
	}
	rc, err := g.registry()
	if err != nil {
		return err
	}
	desc, err := transfer.Retag(cmd.Context(), rc, from, to)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", to, desc.Digest)
	return nil
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
