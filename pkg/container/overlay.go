package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ctrlite/ctr-lite/unpack"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// PrepareOverlay makes the container's upper, work and rootfs directories
// and returns the rootfs mountpoint (Spec.Root.Path) and the overlay mount
// to pass as runner.Config.RootMounts. layers are the image's layer
// directories bottom first, as snapshot.Prepare returns them. One layer is
// fine: an upper dir is always given. Layers below one whose root is
// opaque are left out (unpack.VisibleLayers).
func (s *Store) PrepareOverlay(id string, layers []string) (string, []specs.Mount, error) {
	layers = unpack.VisibleLayers(layers)
	lowers := make([]string, len(layers))
	for i, d := range layers {
		lowers[len(layers)-1-i] = d // overlayfs lists the top-most first
	}
	if len(lowers) == 0 {
		return "", nil, fmt.Errorf("prepare rootfs of %s: no layers", ShortID(id))
	}
	dir := s.Dir(id)
	upper, work, rootfs := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "rootfs")
	for _, d := range []string{upper, work, rootfs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", nil, fmt.Errorf("prepare rootfs of %s: %w", ShortID(id), err)
		}
	}
	for _, l := range lowers {
		if strings.ContainsAny(l, ":,") {
			return "", nil, fmt.Errorf("prepare rootfs of %s: layer path %q has ':' or ','", ShortID(id), l)
		}
	}
	return rootfs, []specs.Mount{{
		Type: "overlay", Source: "overlay",
		Options: []string{"lowerdir=" + strings.Join(lowers, ":"), "upperdir=" + upper, "workdir=" + work},
	}}, nil
}
