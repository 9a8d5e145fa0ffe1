package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/inspect"
	"github.com/ctrlite/ctr-lite/pkg/pipeline"
	"github.com/ctrlite/ctr-lite/pkg/progress"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/ctrlite/ctr-lite/unpack"
	"github.com/spf13/cobra"
)

func init() { register("unpack", newUnpackCmd) }

func newUnpackCmd(g *globals) *cobra.Command {
	var (
		platform string
		rootless bool
		quiet    bool
		limits   pullLimits
		maxSize  string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:     "unpack [flags] IMAGE DIR",
		GroupID: "images",
		Short:   "Write an image's flattened root filesystem into a directory",
		Long: `Unpack writes the image's root filesystem into DIR, which must be empty or
absent: whiteouts delete, opaque directories hide what lower layers put there,
and every layer's uncompressed digest is checked against the image config.
An image that is not stored is pulled, and unpacked while it downloads.
Whatever the layers contain, nothing is written outside DIR, except (as root)
a temporary .ctr-lite-unpack-* directory beside it where the layers are
unpacked in parallel before they are moved in.

As root, DIR is made mode 0700, whatever the image says of its root: the
image's setuid-root files and device nodes are reachable by root only (as
with umoci); chmod DIR yourself to share the tree.

As non-root (or with --rootless) device nodes are skipped, privileged
xattrs (security.capability, trusted.*) dropped and files owned by the
caller; a warning per kind says what and why (--json lists each).`,
		Example: `  ctr-lite unpack alpine ./rootfs
  ctr-lite unpack --platform linux/arm64 debian:bookworm /srv/arm64-root`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeImages(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := image.ParsePlatform(platform)
			if err != nil {
				return usageError("%v", err)
			}
			st, rc, err := g.clients()
			if err != nil {
				return err
			}
			ref, err := reference.Parse(args[0])
			if err != nil {
				return err
			}
			var maxUncompressed int64
			if maxSize != "" {
				if maxUncompressed, err = inspect.ParseSize(maxSize); err != nil || maxUncompressed <= 0 {
					return usageError("--max-uncompressed %q: want a size such as 2GB or 500MiB", maxSize)
				}
			}
			// An image that is not stored is unpacked while it downloads.
			res, err := pipeline.Flatten(cmd.Context(), st, rc, ref, args[1], pipeline.Options{
				Pull:            limits.apply(image.PullOptions{Platform: p, Progress: progress.Auto(cmd.ErrOrStderr(), quiet)}),
				Rootless:        rootless,
				Private:         true,
				MaxUncompressed: maxUncompressed,
			})
			writeSkips(cmd.ErrOrStderr(), res.Skipped)
			if err != nil {
				return err
			}
			if asJSON {
				rep := unpackReport{Dir: args[1], Entries: res.Stats.Entries, Bytes: res.Stats.Bytes, Skipped: res.Skipped}
				if img := res.Image; img != nil {
					rep.Name, rep.Digest, rep.Layers = img.Name, img.ManifestDesc.Digest.String(), len(img.Manifest.Layers)
				}
				if rep.Skipped == nil {
					rep.Skipped = []unpack.Skip{}
				}
				return inspect.WriteJSON(cmd.OutOrStdout(), rep)
			}
			if !quiet {
				img := res.Image
				fmt.Fprintf(cmd.OutOrStdout(), "%s: unpacked %d layers into %s (%d entries, %s)\n",
					img.Name, len(img.Manifest.Layers), args[1], res.Stats.Entries, units.HumanSize(res.Stats.Bytes))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&platform, "platform", "", "platform `os/arch[/variant]` (default: this machine's)")
	f.BoolVar(&rootless, "rootless", false, "no device nodes, files owned by the caller (automatic when not root)")
	f.BoolVarP(&quiet, "quiet", "q", false, "print nothing on success")
	f.StringVar(&maxSize, "max-uncompressed", "", "fail (leaving DIR empty) when the layers uncompress to more than `SIZE` in all, e.g. 2GB")
	limits.add(f)
	f.BoolVar(&asJSON, "json", false, "print what was unpacked, and each thing not reproduced, as JSON")
	return cmd
}

// unpackReport is `unpack --json`.
type unpackReport struct {
	Name    string        `json:"name"`
	Digest  string        `json:"digest"`
	Dir     string        `json:"dir"`
	Layers  int           `json:"layers"`
	Entries int           `json:"entries"`
	Bytes   int64         `json:"bytes"`
	Skipped []unpack.Skip `json:"skipped"`
}

// writeSkips prints one warning per kind and reason of what the unpack
// did not reproduce, with how many and the first few paths.
func writeSkips(w io.Writer, skips []unpack.Skip) {
	type group struct {
		kind, reason string
		items        []string
	}
	var groups []*group
	byKey := map[[2]string]*group{}
	for _, s := range skips {
		k := [2]string{s.Kind, s.Reason}
		g := byKey[k]
		if g == nil {
			g = &group{kind: s.Kind, reason: s.Reason}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.items = append(g.items, "/"+s.Path+" ("+s.Detail+")")
	}
	what := map[string]string{unpack.SkipDevice: "device node skipped", unpack.SkipXattr: "xattr dropped", unpack.SkipOwner: "owner not kept"}
	for _, g := range groups {
		shown := g.items
		more := ""
		if len(shown) > 5 {
			shown, more = shown[:5], fmt.Sprintf(" and %d more", len(g.items)-5)
		}
		fmt.Fprintf(w, "warning: unpack: %s: %d (%s): %s%s\n", what[g.kind], len(g.items), g.reason, strings.Join(shown, ", "), more)
	}
}
