package image

import (
	"encoding/json"
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/content"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker schema 1, which ctr-lite refuses; the schema 2 and OCI media types
// are content.IsIndex's and content.IsManifest's.
const (
	mediaTypeSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	mediaTypeSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// Limits on what is read into memory.
const (
	MaxManifestSize = 4 << 20
	MaxConfigSize   = 16 << 20
	maxIndexDepth   = 4
)

// MaxLayers is the most layers an image may have: overlayfs stacks at
// most 500 layers (the kernel's OVL_MAX_STACK), so no container could run
// on more. Pull refuses a manifest above it before downloading any blob.
const MaxLayers = 500

// Kind tells an index from a manifest.
type Kind int

const (
	KindManifest Kind = iota
	KindIndex
)

// probe holds the fields that tell manifest kinds apart.
type probe struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Manifests     []json.RawMessage `json:"manifests"`
	Layers        []json.RawMessage `json:"layers"`
	FSLayers      []json.RawMessage `json:"fsLayers"`
}

// KindOf decides whether raw (served with mediaType) is an index or a
// manifest; schema 1 and anything else is ErrUnsupported.
func KindOf(mediaType string, raw []byte) (Kind, error) {
	var p probe
	if err := json.Unmarshal(raw, &p); err != nil {
		return 0, fmt.Errorf("%w: decode manifest: %v", ErrInvalid, err)
	}
	if p.MediaType != "" {
		mediaType = p.MediaType
	}
	switch {
	case content.IsIndex(mediaType):
		return KindIndex, nil
	case content.IsManifest(mediaType):
		return KindManifest, nil
	case mediaType == mediaTypeSchema1 || mediaType == mediaTypeSchema1Signed:
		return 0, fmt.Errorf("%w: Docker schema 1 manifests are deprecated and not supported; push the image again with a current client", ErrUnsupported)
	}
	switch {
	case p.SchemaVersion == 1 || p.FSLayers != nil:
		return 0, fmt.Errorf("%w: Docker schema 1 manifests are deprecated and not supported", ErrUnsupported)
	case p.Manifests != nil:
		return KindIndex, nil
	case p.Layers != nil:
		return KindManifest, nil
	}
	return 0, fmt.Errorf("%w: media type %q", ErrUnsupported, mediaType)
}

// DecodeIndex decodes an OCI index or Docker manifest list.
func DecodeIndex(raw []byte) (ocispec.Index, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return idx, fmt.Errorf("%w: decode index: %v", ErrInvalid, err)
	}
	return idx, nil
}

// DecodeManifest decodes an OCI or Docker schema 2 manifest and checks the
// descriptors it names.
func DecodeManifest(raw []byte) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("%w: decode manifest: %v", ErrInvalid, err)
	}
	if err := checkDescriptor("config", m.Config); err != nil {
		return m, err
	}
	if m.Config.Size > MaxConfigSize {
		return m, fmt.Errorf("%w: config is %d bytes, limit %d", ErrInvalid, m.Config.Size, MaxConfigSize)
	}
	for i, l := range m.Layers {
		if err := checkDescriptor(fmt.Sprintf("layer %d", i+1), l); err != nil {
			return m, err
		}
	}
	return m, nil
}

// DecodeConfig decodes an image config.
func DecodeConfig(raw []byte) (ocispec.Image, error) {
	var c ocispec.Image
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("%w: decode config: %v", ErrInvalid, err)
	}
	return c, nil
}

func checkDescriptor(what string, d ocispec.Descriptor) error {
	if err := d.Digest.Validate(); err != nil {
		return fmt.Errorf("%w: %s digest %q: %v", ErrInvalid, what, d.Digest, err)
	}
	if d.Size < 0 {
		return fmt.Errorf("%w: %s size %d", ErrInvalid, what, d.Size)
	}
	return nil
}

// SelectPlatform returns the index entry for p.
func SelectPlatform(idx ocispec.Index, p Platform) (ocispec.Descriptor, error) {
	var seen []string
	for _, m := range idx.Manifests {
		if p.Matches(m.Platform) {
			return m, nil
		}
		if m.Platform != nil {
			seen = append(seen, Platform{m.Platform.OS, m.Platform.Architecture, m.Platform.Variant}.String())
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("%w %s (image has: %v)", ErrPlatformNotFound, p, seen)
}
