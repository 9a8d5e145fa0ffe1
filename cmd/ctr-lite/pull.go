package main

import (
	"errors"
	"fmt"
	"sort"
	"syscall"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/inspect"
	"github.com/ctrlite/ctr-lite/pkg/pipeline"
	"github.com/ctrlite/ctr-lite/pkg/progress"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/ctrlite/ctr-lite/registry"
	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"
)

func init() { register("pull", newPullCmd) }

func newPullCmd(g *globals) *cobra.Command {
	var (
		platform    string
		concurrency int
		quiet       bool
		unpackToo   bool
		limits      pullLimits
		asJSON      bool
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
			reports := []pullReport{}
			for _, a := range args {
				ref, err := reference.Parse(a)
				if err != nil {
					return err
				}
				var rep image.Progress = progress.Auto(out, quiet)
				rec := progress.NewRecord()
				if asJSON {
					rep = rec
				}
				res, err := pipeline.Pull(cmd.Context(), st, rc, ref, pipeline.Options{
					Pull:   limits.apply(image.PullOptions{Platform: p, MaxConcurrent: concurrency, Progress: rep}),
					Unpack: unpackToo,
				})
				if err != nil {
					return withPartials(st, err)
				}
				if asJSON {
					reports = append(reports, newPullReport(ref, res, rec.Blobs()))
					continue
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
			if asJSON {
				return inspect.WriteJSON(out, reports)
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
	f.BoolVar(&asJSON, "json", false, "print what was downloaded, resumed and already stored as JSON (one object per image)")
	return cmd
}

// pullReport is one image of `pull --json`.
type pullReport struct {
	Name   string        `json:"name"`
	Digest digest.Digest `json:"digest"`
	// Blobs are the config and the layers, in manifest order.
	Blobs []progress.Blob `json:"blobs"`
	// Downloaded counts the blobs fetched (resumed ones included),
	// Resumed those that continued a partial download, AlreadyStored
	// those not fetched; DownloadedBytes is what came over the network.
	Downloaded      int   `json:"downloaded"`
	Resumed         int   `json:"resumed"`
	AlreadyStored   int   `json:"already_stored"`
	DownloadedBytes int64 `json:"downloaded_bytes"`
	// Snapshots is set with --unpack.
	Snapshots *snapshotCounts `json:"snapshots,omitempty"`
}

type snapshotCounts struct {
	Unpacked int `json:"unpacked"`
	Reused   int `json:"reused"`
}

func newPullReport(ref reference.Reference, res *pipeline.Result, blobs []progress.Blob) pullReport {
	pr := res.Pull
	// Manifest order (config, then the layers bottom first), not the
	// order the parallel downloads happened to start in.
	rank := map[digest.Digest]int{pr.Image.Manifest.Config.Digest: 0}
	for i, l := range pr.Image.Manifest.Layers {
		if _, dup := rank[l.Digest]; !dup {
			rank[l.Digest] = i + 1
		}
	}
	sort.SliceStable(blobs, func(i, j int) bool { return rank[blobs[i].Digest] < rank[blobs[j].Digest] })
	r := pullReport{Name: ref.String(), Digest: pr.Image.ManifestDesc.Digest, Blobs: blobs,
		Downloaded: pr.Fetched, AlreadyStored: pr.Existing, DownloadedBytes: pr.Bytes}
	for _, b := range blobs {
		if b.Status == progress.StatusResumed {
			r.Resumed++
		}
	}
	if sn := res.Snapshots; sn != nil {
		r.Snapshots = &snapshotCounts{Unpacked: sn.Built, Reused: sn.Reused}
	}
	return r
}

// withPartials adds to a full-disk error what the partial downloads hold
// (a later pull resumes them) and how to free it.
func withPartials(st *content.Store, err error) error {
	if !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	n, b, perr := st.Partials()
	if perr != nil || n == 0 {
		return err
	}
	return fmt.Errorf("%w: %s held in %d partial downloads (the next pull resumes them; `ctr-lite gc` frees them)",
		err, units.HumanSize(b), n)
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
	return registry.New(g.registryOptions())
}

// registryOptions are the one host configuration (hosts.toml, --plain-http,
// --insecure-registry) every command talking to a registry uses.
func (g *globals) registryOptions() registry.Options {
	return registry.Options{
		ConfigDir: g.config,
		PlainHTTP: g.plainHTTP,
		Insecure:  g.insecure,
		UserAgent: "ctr-lite/" + version,
	}
}
