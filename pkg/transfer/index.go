package transfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/image"
)

// reindex writes a new index like raw but listing only kept: every other
// field is carried over as it was.
func reindex(root ocispec.Descriptor, raw []byte, kept []ocispec.Descriptor) (doc, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return doc{}, fmt.Errorf("index %s: %w", root.Digest, err)
	}
	m, err := json.Marshal(kept)
	if err != nil {
		return doc{}, err
	}
	fields["manifests"] = m
	b, err := json.Marshal(fields)
	if err != nil {
		return doc{}, err
	}
	d := ocispec.Descriptor{MediaType: root.MediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	return doc{d, b}, nil
}

// stripPlatform makes an index entry a root descriptor.
func stripPlatform(d ocispec.Descriptor) ocispec.Descriptor {
	d.Platform = nil
	d.Annotations = nil
	return d
}

// errNotStored: the local store lacks a platform of an index it names
// (pulled for one platform). Only the store says so: a registry or layout
// missing a manifest is an error, not a platform to leave out.
var errNotStored = errors.New("platform not stored")

func notStored(err error) bool { return errors.Is(err, errNotStored) }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// sniff is the media type a manifest or index names, else what its shape
// says.
func sniff(raw []byte) string {
	var doc struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(raw, &doc) == nil && doc.MediaType != "" {
		return doc.MediaType
	}
	if k, err := image.KindOf("", raw); err == nil && k == image.KindIndex {
		return ocispec.MediaTypeImageIndex
	}
	return ocispec.MediaTypeImageManifest
}
