package snapshot

import (
	"strings"

	"github.com/ctrlite/ctr-lite/unpack"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// overlayMount, a test helper, is the overlay mount of layer dirs (bottom first, as
// Prepare returns them) with a writable upper and work dir. With no upper
// the mount is read-only and needs at least two layers; one layer alone is
// then a read-only bind mount. Layers below one whose root is opaque are
// left out (unpack.VisibleLayers).
func overlayMount(layers []string, upper, work string) specs.Mount {
	layers = unpack.VisibleLayers(layers)
	if upper == "" && len(layers) == 1 {
		return specs.Mount{Type: "bind", Source: layers[0], Options: []string{"rbind", "ro"}}
	}
	lower := make([]string, len(layers))
	for i, d := range layers {
		lower[len(layers)-1-i] = d // overlay lists the top-most layer first
	}
	opts := []string{"lowerdir=" + strings.Join(lower, ":")}
	if upper != "" {
		opts = append(opts, "upperdir="+upper, "workdir="+work)
	}
	return specs.Mount{Type: "overlay", Source: "overlay", Options: opts}
}
