package content

import (
	"context"
	"encoding/json"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/mediatype"
)

// mayHaveChildren: manifests, indexes, and descriptors whose media type
// says nothing (these are sniffed). Layers and configs are never parsed.
func mayHaveChildren(mt string) bool {
	if mediatype.IsIndex(mt) || mediatype.IsManifest(mt) {
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
		if mediatype.IsIndex(desc.MediaType) || mediatype.IsManifest(desc.MediaType) {
			return nil, err
		}
		return nil, nil // a blob that is not JSON has no children
	}
	mt := desc.MediaType
	if !mediatype.IsIndex(mt) && !mediatype.IsManifest(mt) {
		mt = doc.MediaType
	}
	switch {
	case mediatype.IsIndex(mt) || (mt == "" && doc.Manifests != nil):
		return doc.Manifests, nil
	case mediatype.IsManifest(mt) || (mt == "" && doc.Config != nil):
		var out []ocispec.Descriptor
		if doc.Config != nil {
			out = append(out, *doc.Config)
		}
		return append(out, doc.Layers...), nil
	}
	return nil, nil
}

// children reads desc from the store and returns its children; a missing
// blob reports errdefs.ErrNotFound.
func (s *Store) children(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	if !mayHaveChildren(desc.MediaType) {
		return nil, nil
	}
	if desc.Size > mediatype.MaxManifestSize && !mediatype.IsIndex(desc.MediaType) && !mediatype.IsManifest(desc.MediaType) {
		return nil, nil
	}
	data, err := s.ReadBlob(ctx, desc, mediatype.MaxManifestSize)
	if err != nil {
		return nil, err
	}
	return Children(desc, data)
}
