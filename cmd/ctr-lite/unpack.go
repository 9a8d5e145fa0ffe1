package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/launch"
	"github.com/ctrlite/ctr-lite/pkg/progress"
	"github.com/ctrlite/ctr-lite/pkg/rootfs"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/ctrlite/ctr-lite/unpack"
	"github.com/spf13/cobra"
)

func init() { register(newUnpackCmd) }

func newUnpackCmd(g *globals) *cobra.Command {
	var (
		platform string
		rootless bool
		quiet    bool
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

As non-root (or with --rootless) device nodes are skipped with a warning and
files are owned by the caller.`,
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
			var (
				skipped []string
				stats   unpack.Stats
			)
			// An image that is not stored is unpacked while it downloads.
			img, _, err := launch.WithImage(cmd.Context(), st, rc, args[0], false,
				image.PullOptions{Platform: p, Progress: progress.Auto(cmd.ErrOrStderr(), quiet)},
				func(ctx context.Context, img *image.Image, open content.Opener) error {
					var err error
					stats, err = rootfs.Flatten(ctx, st, img, args[1], rootfs.Options{
						Rootless: rootless || os.Geteuid() != 0,
						Skipped:  func(name, _ string) { skipped = append(skipped, name) },
						Open:     open,
					})
					return err
				})
			if len(skipped) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: rootless unpack skipped %d device nodes: %s\n", len(skipped), strings.Join(skipped, " "))
			}
			if err != nil {
				return err
			}
			if !quiet {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: unpacked %d layers into %s (%d entries, %s)\n",
					img.Name, len(img.Manifest.Layers), args[1], stats.Entries, units.HumanSize(stats.Bytes))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&platform, "platform", "", "platform `os/arch[/variant]` (default: this machine's)")
	f.BoolVar(&rootless, "rootless", false, "no device nodes, files owned by the caller (automatic when not root)")
	f.BoolVarP(&quiet, "quiet", "q", false, "print nothing on success")
	return cmd
}
