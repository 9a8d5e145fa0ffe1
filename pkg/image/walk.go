package image

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/mediatype"
)

// getter returns the bytes of a manifest or index named by desc.
type getter func(ctx context.Context, desc ocispec.Descriptor) ([]byte, error)

// visitor sees each index or manifest on the way down, with its kind.
type visitor func(desc ocispec.Descriptor, raw []byte, kind Kind) error

// selectManifest walks from desc (raw already read, or nil to get it) down
// through indexes to the manifest for platform p, and decodes it. Loops
// and deep nesting are errors, so a hostile index cannot make it spin.
func selectManifest(ctx context.Context, desc ocispec.Descriptor, raw []byte, p Platform, get getter, visit visitor) (*Image, error) {
	img := &Image{Target: desc}
	seen := map[digest.Digest]bool{}
	for depth := 0; ; depth++ {
		if depth > maxIndexDepth || seen[desc.Digest] {
			return nil, fmt.Errorf("%w: index %s refers to itself or nests deeper than %d", ErrInvalid, desc.Digest, maxIndexDepth)
		}
		seen[desc.Digest] = true
		if raw == nil {
			if desc.Size > mediatype.MaxManifestSize {
				return nil, fmt.Errorf("%w: manifest %s is %d bytes, limit %d", ErrInvalid, desc.Digest, desc.Size, mediatype.MaxManifestSize)
			}
			var err error
			if raw, err = get(ctx, desc); err != nil {
				return nil, fmt.Errorf("read manifest %s: %w", desc.Digest, err)
			}
		}
		kind, err := KindOf(desc.MediaType, raw)
		if err != nil {
			return nil, err
		}
		if visit != nil {
			if err := visit(desc, raw, kind); err != nil {
				return nil, err
			}
		}
		if kind == KindManifest {
			img.ManifestDesc, img.RawManifest = desc, raw
			break
		}
		if img.RawIndex == nil {
			img.RawIndex = raw
		}
		idx, err := DecodeIndex(raw)
		if err != nil {
			return nil, err
		}
		if desc, err = SelectPlatform(idx, p); err != nil {
			return nil, err
		}
		raw = nil
	}
	var err error
	if img.Manifest, err = DecodeManifest(img.RawManifest); err != nil {
		return nil, err
	}
	return img, nil
}

// setConfig decodes raw as img's config and checks it against the manifest.
func (img *Image) setConfig(raw []byte) error {
	c, err := DecodeConfig(raw)
	if err != nil {
		return err
	}
	if n, m := len(c.RootFS.DiffIDs), len(img.Manifest.Layers); n != 0 && n != m {
		return fmt.Errorf("%w: config lists %d diff IDs for %d layers", ErrInvalid, n, m)
	}
	img.RawConfig, img.Config = raw, c
	return nil
}
