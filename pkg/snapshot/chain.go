package snapshot

import (
	"context"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/opencontainers/go-digest"
)

// ChainIDs returns the chain ID of every layer prefix (image-spec config.md):
// ChainID(L0) = DiffID(L0), ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)).
func ChainIDs(diffIDs []digest.Digest) []digest.Digest {
	out := make([]digest.Digest, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		out[i] = digest.FromString(out[i-1].String() + " " + d.String())
	}
	return out
}

// Stored maps the chain ID of every layer prefix of every image in the
// store to the layer blobs that top it: the snapshots stored images need,
// and what each may be built from. One chain may have several blobs (the
// same layer compressed with gzip in one image and zstd in another): any
// of them gives the same snapshot, since its diffID was checked.
func Stored(ctx context.Context, st *content.Store) (map[digest.Digest]map[digest.Digest]bool, error) {
	chains := map[digest.Digest]map[digest.Digest]bool{}
	err := image.Manifests(ctx, st, func(img *image.Image) error {
		for i, c := range ChainIDs(img.DiffIDs()) {
			if i >= len(img.Manifest.Layers) {
				break
			}
			if chains[c] == nil {
				chains[c] = map[digest.Digest]bool{}
			}
			chains[c][img.Manifest.Layers[i].Digest] = true
		}
		return nil
	})
	return chains, err
}
