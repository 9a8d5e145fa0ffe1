package main

import (
	"fmt"
	"os"

	"github.com/ctrlite/ctr-lite/pkg/archive"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/spf13/cobra"
)

func init() { register("import", newImportCmd); register("export", newExportCmd) }

func newImportCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "import FILE|DIR",
		GroupID: "images",
		Short:   "Load images from a docker-save tarball, an oci-archive or an OCI layout directory",
		Long: `Import reads a docker-save tarball (classic, or Docker 25+ OCI-in-save; gzip
or zstd compressed too), an oci-archive tarball, or an OCI image layout
directory, verifies every blob against its digest, and stores the images
under their names (RepoTags or ref.name annotations).`,
		Example: `  docker save alpine:3.20 -o alpine.tar && ctr-lite import alpine.tar
  skopeo copy docker://alpine oci-archive:alpine.oci && ctr-lite import alpine.oci
  ctr-lite import ./my-oci-layout`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.store()
			if err != nil {
				return err
			}
			named, err := archive.Import(cmd.Context(), st, args[0])
			if err != nil {
				return err
			}
			for _, n := range named {
				name := n.Name
				if name == "" {
					name = "<untagged>"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "imported %s: %s\n", name, n.Target.Digest)
			}
			return nil
		},
	}
}

func newExportCmd(g *globals) *cobra.Command {
	var format, platform string
	cmd := &cobra.Command{
		Use:     "export [--format docker|oci] [--platform os/arch] IMAGE... FILE",
		GroupID: "images",
		Short:   "Write stored images to a tarball for docker load, podman load or skopeo",
		Long: `Export writes stored images to FILE. The docker format holds one platform
per image: --platform, else this machine's. The oci format holds, without
--platform, every platform of a multi-platform image that is stored (only
those pulled); the archive never names a blob it does not contain. A
platform that is not stored is an error that says which are.`,
		Example: `  ctr-lite export alpine alpine.tar && docker load -i alpine.tar
  ctr-lite export --format oci alpine busybox images.oci
  ctr-lite export --platform linux/arm64 alpine alpine-arm64.tar`,
		Args:              cobra.MinimumNArgs(2),
		ValidArgsFunction: completeImages(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "docker" && format != "oci" {
				return usageError("--format %q: want docker or oci", format)
			}
			var p image.Platform
			if platform != "" {
				var err error
				if p, err = image.ParsePlatform(platform); err != nil {
					return usageError("%v", err)
				}
			}
			st, err := g.store()
			if err != nil {
				return err
			}
			var names []string
			for _, a := range args[:len(args)-1] {
				ref, err := reference.Parse(a)
				if err != nil {
					return err
				}
				names = append(names, ref.String())
			}
			path := args[len(args)-1]
			tmp := path + ".tmp"
			f, err := os.Create(tmp)
			if err != nil {
				return err
			}
			err = archive.Export(cmd.Context(), st, names, f, archive.ExportOptions{Format: format, Platform: p})
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp, path)
			}
			if err != nil {
				os.Remove(tmp)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %d images to %s (%s format)\n", len(names), path, format)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "docker", "`docker` (docker load, podman load) or oci (oci-archive)")
	cmd.Flags().StringVar(&platform, "platform", "", "export only platform `os/arch[/variant]` (default: docker this machine's, oci every stored one)")
	return cmd
}
