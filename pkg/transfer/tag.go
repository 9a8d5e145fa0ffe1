package transfer

import (
	"context"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/registry"
)

// Retag names src's manifest (or index) in the registry also as dst, with
// one manifest PUT of the same bytes: no blob moves. dst must be in src's
// registry and repository, where the blobs are.
func Retag(ctx context.Context, rc *registry.Client, src, dst reference.Reference) (ocispec.Descriptor, error) {
	if dst.Name() != src.Name() {
		return ocispec.Descriptor{}, fmt.Errorf("tag %s as %s: another repository needs its blobs too (use copy)", src, dst)
	}
	if dst.Tag() == "" {
		return ocispec.Descriptor{}, fmt.Errorf("tag %s as %s: no tag given", src, dst)
	}
	desc, raw, err := rc.Resolve(ctx, src)
	if err != nil {
		return desc, err
	}
	return rc.PutManifest(ctx, dst, dst.Tag(), desc.MediaType, raw)
}
