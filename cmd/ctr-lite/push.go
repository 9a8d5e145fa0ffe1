package main

import (
	"fmt"
	"io"

	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/progress"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/transfer"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/spf13/cobra"
)

func init() {
	register("push", newPushCmd)
	register("copy", newCopyCmd)
}

func newPushCmd(g *globals) *cobra.Command {
	var (
		concurrency int
		quiet       bool
	)
	cmd := &cobra.Command{
		Use:     "push [flags] IMAGE [DEST]",
		GroupID: "images",
		Short:   "Upload a stored image to a registry",
		Long: `Push uploads a stored image (its index with every stored platform, or its
manifest, config and layers) to DEST, by default the registry and name it
has. Blobs the registry has are skipped, blobs in another repository of the
same registry are mounted, and an upload cut off resumes where it stopped.`,
		Example: `  ctr-lite push localhost:5000/app:1.2
  ctr-lite push alpine:3.20 registry.example.com/base/alpine:3.20`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeImages(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := reference.Parse(args[0])
			if err != nil {
				return err
			}
			dst := src
			if len(args) == 2 {
				if dst, err = reference.Parse(args[1]); err != nil {
					return err
				}
			}
			st, rc, err := g.clients()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			res, err := transfer.Copy(cmd.Context(), transfer.FromStore(st, src.String()), transfer.ToRegistry(rc, dst),
				transfer.Options{MaxConcurrent: concurrency, Progress: progress.Auto(out, quiet)})
			if err != nil {
				return err
			}
			printCopy(out, dst.String(), res, quiet)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&concurrency, "max-concurrent-uploads", 3, "blobs uploaded at once")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the manifest digest")
	return cmd
}

func newCopyCmd(g *globals) *cobra.Command {
	var (
		concurrency  int
		quiet        bool
		allPlatforms bool
		platform     string
	)
	cmd := &cobra.Command{
		Use:     "copy [flags] SRC DST",
		GroupID: "images",
		Short:   "Copy an image between registries, OCI layouts and archives",
		Long: `Copy streams an image from SRC to DST without storing it locally; the
destination's manifest digest equals the source's. SRC and DST are image
references in a registry, oci:DIR[:TAG] (an OCI layout directory) or
docker-archive:FILE. Each registry uses its own credentials and hosts.toml.
An index is copied with all its platforms unless --platform picks one.`,
		Example: `  ctr-lite copy ghcr.io/org/app:1.2 registry.example.com/app:1.2
  ctr-lite copy --platform linux/arm64 alpine:3.20 localhost:5000/alpine:arm64
  ctr-lite copy alpine:3.20 oci:./alpine:3.20
  ctr-lite copy docker-archive:app.tar localhost:5000/app:1`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts transfer.Options
			switch {
			case platform != "":
				if cmd.Flags().Changed("all-platforms") && allPlatforms {
					return usageError("--platform and --all-platforms exclude each other")
				}
				p, err := image.ParsePlatform(platform)
				if err != nil {
					return usageError("%v", err)
				}
				opts.Platform = &p
			case !allPlatforms:
				p := image.HostPlatform()
				opts.Platform = &p
			}
			rc, err := g.registry()
			if err != nil {
				return err
			}
			src, done, err := transfer.OpenSource(cmd.Context(), rc, args[0])
			if err != nil {
				return err
			}
			defer done()
			dst, release, err := transfer.OpenTarget(rc, args[1], args[0])
			if err != nil {
				return err
			}
			defer release()
			out := cmd.OutOrStdout()
			opts.MaxConcurrent, opts.Progress = concurrency, progress.Auto(out, quiet)
			res, err := transfer.Copy(cmd.Context(), src, dst, opts)
			if err != nil {
				return err
			}
			printCopy(out, args[1], res, quiet)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&allPlatforms, "all-platforms", "a", true, "copy every platform of an index (false: this machine's only)")
	f.StringVar(&platform, "platform", "", "copy only this `os/arch[/variant]` of an index")
	f.IntVar(&concurrency, "max-concurrent-uploads", 3, "blobs copied at once")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the manifest digest")
	return cmd
}

// printCopy prints what a push or copy did.
func printCopy(out io.Writer, dst string, res *transfer.Result, quiet bool) {
	if quiet {
		fmt.Fprintln(out, res.Root.Digest)
		return
	}
	for _, d := range res.Dropped {
		p := "?"
		if d.Platform != nil {
			p = image.Platform{OS: d.Platform.OS, Architecture: d.Platform.Architecture, Variant: d.Platform.Variant}.String()
		}
		fmt.Fprintf(out, "%s: platform %s is not stored: left out of the index\n", dst, p)
	}
	fmt.Fprintf(out, "%s: sent %d blobs (%s), %d already there, %d mounted\n", dst, res.Sent, units.HumanSize(res.Bytes), res.Existing, res.Mounted)
	fmt.Fprintf(out, "%s: %s\n", dst, res.Root.Digest)
}
