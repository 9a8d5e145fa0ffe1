package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/inspect"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"
)

func init() { register("inspect", newInspectCmd) }

// sourceFlags are the flags every command reading an image shares.
type sourceFlags struct {
	platform string
	remote   bool
	asJSON   bool
}

func (f *sourceFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.platform, "platform", "", "platform `os/arch[/variant]` (default: this machine's)")
	cmd.Flags().BoolVar(&f.remote, "remote", false, "read the registry even when the image is stored (nothing is stored)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print JSON")
}

// open returns the stored image, or the registry's when it is not stored
// or --remote is set.
func (f *sourceFlags) open(ctx context.Context, g *globals, name string) (*image.Source, error) {
	p, err := image.ParsePlatform(f.platform)
	if err != nil {
		return nil, usageError("%v", err)
	}
	st, rc, err := g.clients()
	if err != nil {
		return nil, err
	}
	ref, err := reference.Parse(name)
	if err != nil {
		return nil, err
	}
	return image.Open(ctx, st, rc, ref, p, f.remote)
}

func newInspectCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "inspect SUBCOMMAND IMAGE",
		GroupID: "inspect",
		Short:   "Show an image's manifest, config, layers, history, files or wasted space",
		Long: `Inspect reads a stored image, or the registry directly (with --remote, or
when the image is not stored) without storing anything. Only the
subcommands that look inside layers (layers, files, efficiency) stream the
layer blobs; file contents are hashed, never written.`,
		Example: `  ctr-lite inspect layers alpine
  ctr-lite inspect files --layer 1 debian:bookworm 'etc/**'
  ctr-lite inspect efficiency --json myapp:1.4
  ctr-lite inspect manifest --remote --platform linux/arm64 ghcr.io/org/app:1`,
	}
	raw := func(use, short string, pick func(*image.Source) ([]byte, error)) *cobra.Command {
		var (
			f      sourceFlags
			pretty bool
		)
		c := &cobra.Command{
			Use: use + " IMAGE", Short: short, Args: cobra.ExactArgs(1), ValidArgsFunction: completeImages(g),
			RunE: func(cmd *cobra.Command, args []string) error {
				src, err := f.open(cmd.Context(), g, args[0])
				if err != nil {
					return err
				}
				b, err := pick(src)
				if err != nil {
					return err
				}
				// The bytes alone on stdout (| sha256sum is the digest); the
				// digest, for a reader, on stderr.
				fmt.Fprintf(cmd.ErrOrStderr(), "digest: %s\n", digest.FromBytes(b))
				return inspect.WriteRaw(cmd.OutOrStdout(), b, pretty)
			},
		}
		f.add(c)
		c.Flags().BoolVar(&pretty, "pretty", false, "indent the JSON (its digest is then no longer the stored bytes')")
		return c
	}
	cmd.AddCommand(
		raw("manifest", "Print the platform's manifest (the stored bytes)", func(s *image.Source) ([]byte, error) { return s.RawManifest(), nil }),
		raw("config", "Print the image config (the stored bytes)", func(s *image.Source) ([]byte, error) { return s.RawConfig(), nil }),
		raw("index", "Print the image index or manifest list (the stored bytes)", func(s *image.Source) ([]byte, error) {
			if s.Image.RawIndex == nil {
				return nil, fmt.Errorf("%s is a single-platform image: it has no index", s.Image.Name)
			}
			return s.Image.RawIndex, nil
		}),
		report(g, "layers", "One row per layer: digest, media type, sizes, file count, created_by",
			func(ctx context.Context, src *image.Source, _ []string) (any, func(io.Writer) error, error) {
				rep, err := inspect.Layers(ctx, src)
				return rep, func(w io.Writer) error { return inspect.WriteLayersTable(w, rep) }, err
			}, nil),
		report(g, "history", "The config history, empty layers marked",
			func(_ context.Context, src *image.Source, _ []string) (any, func(io.Writer) error, error) {
				rep := inspect.History(src)
				return rep, func(w io.Writer) error { return inspect.WriteHistoryTable(w, rep) }, nil
			}, nil),
		newInspectFilesCmd(g),
		newInspectEfficiencyCmd(g),
	)
	return cmd
}

// reportFunc computes a report and returns it with its table printer.
type reportFunc func(ctx context.Context, src *image.Source, args []string) (any, func(io.Writer) error, error)

// report makes a subcommand that prints a report as a table or JSON.
func report(g *globals, use, short string, fn reportFunc, extra func(*cobra.Command)) *cobra.Command {
	var f sourceFlags
	c := &cobra.Command{
		Use: use + " IMAGE", Short: short, Args: cobra.MinimumNArgs(1), ValidArgsFunction: completeImages(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := f.open(cmd.Context(), g, args[0])
			if err != nil {
				return err
			}
			rep, table, err := fn(cmd.Context(), src, args[1:])
			if err != nil {
				return err
			}
			if f.asJSON {
				return inspect.WriteJSON(cmd.OutOrStdout(), rep)
			}
			return table(cmd.OutOrStdout())
		},
	}
	f.add(c)
	if extra != nil {
		extra(c)
	}
	return c
}

func newInspectFilesCmd(g *globals) *cobra.Command {
	var layer int
	c := report(g, "files", "The merged file tree, or one layer's entries with whiteouts",
		func(ctx context.Context, src *image.Source, args []string) (any, func(io.Writer) error, error) {
			var opts inspect.FilesOptions
			if layer >= 0 {
				opts.Layer = &layer
			}
			if len(args) > 0 {
				opts.Glob = args[0]
			}
			rep, err := inspect.Files(ctx, src, opts)
			return rep, func(w io.Writer) error { return inspect.WriteFilesTable(w, rep) }, err
		}, func(c *cobra.Command) {
			c.Flags().IntVar(&layer, "layer", -1, "list layer `N` as `inspect layers` numbers them (0 is the bottom) instead of the merged tree")
		})
	c.Use = "files [--layer N] IMAGE [PATH-GLOB]"
	c.Args = cobra.RangeArgs(1, 2)
	c.Example = `  ctr-lite inspect files alpine 'etc/**'
  ctr-lite inspect files --layer 1 debian:bookworm`
	return c
}

func newInspectEfficiencyCmd(g *globals) *cobra.Command {
	var top int
	c := report(g, "efficiency", "Wasted space as dive counts it: files overwritten or deleted by later layers",
		func(ctx context.Context, src *image.Source, _ []string) (any, func(io.Writer) error, error) {
			rep, err := inspect.Efficiency(ctx, src)
			rep = rep.Top(top)
			return rep, func(w io.Writer) error { return inspect.WriteEfficiencyTable(w, rep, top) }, err
		}, func(c *cobra.Command) {
			c.Flags().IntVar(&top, "top", 10, "how many of the most wasteful paths to list, in the table and the JSON (0: all)")
		})
	c.Args = cobra.ExactArgs(1)
	return c
}
