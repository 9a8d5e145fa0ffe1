package main

import (
	"context"
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/launch"
	"github.com/ctrlite/ctr-lite/pkg/progress"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/snapshot"
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
	)
	cmd := &cobra.Command{
		Use:     "pull [flags] IMAGE...",
		GroupID: "images",
		Short:   "Download images from a registry into the local store",
		Long: `Pull resolves each image reference, picks the manifest for the platform
(default: this machine's), and downloads the config and layers in parallel
into the content store. Blobs already stored are not downloaded again; an
interrupted download resumes where it stopped.`,
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
				po := image.PullOptions{Platform: p, MaxConcurrent: concurrency, Progress: progress.Auto(out, quiet)}
				res, snaps, err := pull(cmd.Context(), st, rc, ref, po, unpackToo)
				if err != nil {
					return err
				}
				if quiet {
					fmt.Fprintln(out, res.Image.ManifestDesc.Digest)
					continue
				}
				if res.UpToDate() {
					fmt.Fprintf(out, "%s: image is up to date\n", ref)
				} else {
					fmt.Fprintf(out, "%s: downloaded %d blobs (%s), %d already stored\n", ref, res.Fetched, units.HumanSize(res.Bytes), res.Existing)
				}
				if snaps != nil {
					fmt.Fprintf(out, "%s: snapshots: %d unpacked, %d already there\n", ref, snaps.Built, snaps.Reused)
				}
				fmt.Fprintf(out, "%s: %s\n", ref, res.Image.ManifestDesc.Digest)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&platform, "platform", "", "platform `os/arch[/variant]` to pull (default: this machine's)")
	f.IntVar(&concurrency, "max-concurrent-downloads", 3, "blobs downloaded at once")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the manifest digest")
	f.BoolVar(&unpackToo, "unpack", false, "also unpack the layers into snapshots, while they download")
	return cmd
}

// pull pulls ref and, with unpackToo, builds its snapshots in the same pass.
func pull(ctx context.Context, st *content.Store, rc *registry.Client, ref reference.Reference, po image.PullOptions, unpackToo bool) (*image.PullResult, *snapshot.Result, error) {
	if !unpackToo {
		res, err := image.Pull(ctx, st, rc, ref, po)
		return res, nil, err
	}
	p, err := launch.Prepare(ctx, st, rc, ref.String(), true, po)
	if err != nil {
		return nil, nil, err
	}
	return p.Pull, p.Snapshots, nil
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
