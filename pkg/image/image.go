package image

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image is one platform's manifest and config, as stored.
type Image struct {
	// Name is the full normalised reference the image is stored under.
	Name string
	// Target is what the name points to: an index or a manifest.
	Target ocispec.Descriptor
	// RawIndex is the top-level index when Target is one, else nil.
	RawIndex []byte
	// ManifestDesc is the manifest for the chosen platform.
	ManifestDesc ocispec.Descriptor
	Manifest     ocispec.Manifest
	RawManifest  []byte
	Config       ocispec.Image
	RawConfig    []byte
}

// DiffIDs are the config's uncompressed layer digests, in layer order.
func (img *Image) DiffIDs() []digest.Digest { return img.Config.RootFS.DiffIDs }

// Size is the sum of the manifest, config and compressed layer sizes.
func (img *Image) Size() int64 {
	n := img.ManifestDesc.Size + img.Manifest.Config.Size
	for _, l := range img.Manifest.Layers {
		n += l.Size
	}
	return n
}

// Load reads the image stored under ref for platform p (the host's when
// p is zero; see Select) without touching the network.
func Load(ctx context.Context, st *content.Store, ref reference.Reference, p Platform) (*Image, error) {
	target, err := st.Get(ctx, ref.String())
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotStored, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}
	img, err := Select(ctx, st, ref.String(), target, p)
	var nse *PlatformNotStoredError
	if err != nil && !errors.As(err, &nse) {
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}
	return img, err
}

// loadTarget walks from an index or manifest descriptor in the store to
// the platform's manifest and config.
func loadTarget(ctx context.Context, st *content.Store, desc ocispec.Descriptor, p Platform) (*Image, error) {
	get := func(ctx context.Context, d ocispec.Descriptor) ([]byte, error) {
		return st.ReadBlob(ctx, d, mediatype.MaxManifestSize)
	}
	img, err := selectManifest(ctx, desc, nil, p, get, nil)
	if err != nil {
		return nil, err
	}
	raw, err := st.ReadBlob(ctx, img.Manifest.Config, MaxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", img.Manifest.Config.Digest, err)
	}
	return img, img.setConfig(raw)
}

// Manifests calls fn for every platform manifest stored under any name:
// each name's target, and each child of an index that is in the store
// (other platforms of a multi-platform image are usually not pulled).
func Manifests(ctx context.Context, st *content.Store, fn func(*Image) error) error {
	named, err := st.List(ctx)
	if err != nil {
		return err
	}
	seen := map[digest.Digest]bool{}
	var walk func(desc ocispec.Descriptor, depth int) error
	walk = func(desc ocispec.Descriptor, depth int) error {
		if seen[desc.Digest] || depth > maxIndexDepth {
			return nil
		}
		seen[desc.Digest] = true
		raw, err := st.ReadBlob(ctx, desc, mediatype.MaxManifestSize)
		if errors.Is(err, errdefs.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		kind, err := KindOf(desc.MediaType, raw)
		if err != nil {
			return nil // not ours to judge here; fsck reports it
		}
		if kind == KindIndex {
			idx, err := DecodeIndex(raw)
			if err != nil {
				return nil
			}
			for _, m := range idx.Manifests {
				if err := walk(m, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		img, err := loadTarget(ctx, st, desc, Platform{})
		if err != nil {
			return nil
		}
		return fn(img)
	}
	for _, n := range named {
		if err := walk(n.Target, 0); err != nil {
			return err
		}
	}
	return nil
}
