package main

import (
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/pipeline"
	"github.com/ctrlite/ctr-lite/pkg/progress"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/ctrlite/ctr-lite/registry"
	"github.com/spf13/cobra"
)

func init() { register(newPullCmd) }

func newPullCmd(g *globals) *cobra.Command {
	var (
		platform    string
		concurrency int
		quiet       bool
		unpackToo   bool
		limits      pullLimits
	)
	cmd := &cobra.Command{
		Use:     "pull [flags] IMAGE...",
		GroupID: "images",
		Short:   "Download images from a registry into the local store",
		Long: `Pull resolves each image reference, picks the manifest for the platform
(default: this machine's), and downloads the config and layers in parallel
into the content store. Blobs already stored are not downloaded again; an
interrupted download resumes where it stopped.

Of a multi-platform image only the platform's manifest is stored; the name
points at the index, whose digest is printed. A single-platform image of
another platform than the one asked for is pulled as it is, with a warning
(as docker does).`,
		Example: `  ctr-lite pull alpine
  ctr-lite pull --platform linux/arm64 ghcr.io/org/app:1.2
  ctr-lite pull localhost:5000/app@sha256:...
  ctr-lite pull -q alpine busybox`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := image.ParsePlatform(platform)
			if err != nil {
				return usageError("%v", err)
			}
			st, rc, err := g.clients()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, a := range args {
				ref, err := reference.Parse(a)
				if err != nil {
					return err
				}
				res, err := pipeline.Pull(cmd.Context(), st, rc, ref, pipeline.Options{
					Pull:   limits.apply(image.PullOptions{Platform: p, MaxConcurrent: concurrency, Progress: progress.Auto(out, quiet)}),
					Unpack: unpackToo,
				})
				if err != nil {
					return err
				}
				pr := res.Pull
				if pr.OtherPlatform {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s is a single-platform %s image, not %s: pulled as it is\n",
						ref, pr.Image.Platform(), p)
				}
				if quiet {
					fmt.Fprintln(out, pr.Image.Target.Digest)
					continue
				}
				if pr.UpToDate() {
					fmt.Fprintf(out, "%s: image is up to date\n", ref)
				} else {
					fmt.Fprintf(out, "%s: downloaded %d blobs (%s), %d already stored\n", ref, pr.Fetched, units.HumanSize(pr.Bytes), pr.Existing)
				}
				if sn := res.Snapshots; sn != nil {
					fmt.Fprintf(out, "%s: snapshots: %d unpacked, %d already there\n", ref, sn.Built, sn.Reused)
				}
				fmt.Fprintf(out, "%s: %s\n", ref, pr.Image.Target.Digest) // what the name points at, as `images` shows
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&platform, "platform", "", "platform `os/arch[/variant]` to pull (default: this machine's)")
	f.IntVar(&concurrency, "max-concurrent-downloads", 3, "blobs downloaded at once")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the digest (an index's, for a multi-platform image)")
	f.BoolVar(&unpackToo, "unpack", false, "also unpack the layers into snapshots, while they download")
	limits.add(f)
	return cmd
}

// clients opens the store under --root and a registry client.
func (g *globals) clients() (*content.Store, *registry.Client, error) {
	st, err := g.store()
	if err != nil {
		return nil, nil, err
	}
	rc, err := g.registry()
	return st, rc, err
}

// registry returns a client configured from the global flags.
func (g *globals) registry() (*registry.Client, error) {
	return registry.New(registry.Options{
		ConfigDir: g.config,
		PlainHTTP: g.plainHTTP,
		Insecure:  g.insecure,
		UserAgent: "ctr-lite/" + version,
	})
}
