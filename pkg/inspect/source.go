package inspect

import (
	"context"
	"io"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Source is one image, already resolved to one platform. The CLI
// implements it over the local content store and over a registry.
type Source interface {
	Manifest() ocispec.Manifest
	ManifestDigest() digest.Digest
	RawManifest() []byte
	Config() ocispec.Image
	RawConfig() []byte
	// OpenLayer returns the compressed blob stream of layer i
	// (manifest order).
	OpenLayer(ctx context.Context, i int) (io.ReadCloser, error)
}
