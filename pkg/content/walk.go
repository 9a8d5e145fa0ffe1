package content

import (
	"context"
	"encoding/json"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// MaxManifestSize caps manifests and indexes read from the store.
const MaxManifestSize = 4 << 20

// Media types of Docker's schema 2, which the store treats like OCI's.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// IsIndex reports whether mt is an OCI image index or a Docker manifest list.
func IsIndex(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == MediaTypeDockerManifestList
}

// IsManifest reports whether mt is an OCI or Docker schema 2 image manifest.
func IsManifest(mt string) bool {
	return mt == ocispec.MediaTypeImageManifest || mt == MediaTypeDockerManifest
}

// mayHaveChildren: manifests, indexes, and descriptors whose media type
// says nothing (these are sniffed). Layers and configs are never parsed.
func mayHaveChildren(mt string) bool {
	if IsIndex(mt) || IsManifest(mt) {
		return true
	}
	return mt == "" || mt == ocispec.MediaTypeDescriptor ||
		(!strings.Contains(mt, "layer") && !strings.Contains(mt, "rootfs") && !strings.Contains(mt, "config") &&
			strings.HasSuffix(mt, "+json") && strings.Contains(mt, "manifest"))
}

// Children parses a manifest or index and returns the descriptors it
// points to: an index's manifests, a manifest's config and layers. The
// media type comes from desc, else from the document itself. Anything
// else has no children.
func Children(desc ocispec.Descriptor, data []byte) ([]ocispec.Descriptor, error) {
	var doc struct {
		MediaType string               `json:"mediaType"`
		Manifests []ocispec.Descriptor `json:"manifests"`
		Config    *ocispec.Descriptor  `json:"config"`
		Layers    []ocispec.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		if IsIndex(desc.MediaType) || IsManifest(desc.MediaType) {
			return nil, err
		}
		return nil, nil // a blob that is not JSON has no children
	}
	mt := desc.MediaType
	if !IsIndex(mt) && !IsManifest(mt) {
		mt = doc.MediaType
	}
	switch {
	case IsIndex(mt) || (mt == "" && doc.Manifests != nil):
		return doc.Manifests, nil
	case IsManifest(mt) || (mt == "" && doc.Config != nil):
		var out []ocispec.Descriptor
		if doc.Config != nil {
			out = append(out, *doc.Config)
		}
		return append(out, doc.Layers...), nil
	}
	return nil, nil
}

// children reads desc from the store and returns its children; a missing
// blob reports ErrNotFound.
func (s *Store) children(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	if !mayHaveChildren(desc.MediaType) {
		return nil, nil
	}
	if desc.Size > MaxManifestSize && !IsIndex(desc.MediaType) && !IsManifest(desc.MediaType) {
		return nil, nil
	}
	data, err := s.ReadBlob(ctx, desc, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	return Children(desc, data)
}
