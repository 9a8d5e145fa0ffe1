package inspect

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
)

// layoutSource reads an image from an OCI image layout directory.
type layoutSource struct {
	dir       string
	manifest  ocispec.Manifest
	mdigest   digest.Digest
	rawMan    []byte
	config    ocispec.Image
	rawConfig []byte
}

// LayoutSource, a test helper, opens the image named refName (the index.json entry's
// org.opencontainers.image.ref.name annotation; "" takes the only or first
// manifest) in the OCI image layout at dir. It reads index.json and blobs
// directly and follows one level of nested index. It writes nothing.
func LayoutSource(dir, refName string) (Source, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("open layout %s: %w", dir, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("open layout %s: index.json: %w", dir, err)
	}
	var desc *ocispec.Descriptor
	for i := range idx.Manifests {
		d := &idx.Manifests[i]
		if refName == "" || d.Annotations[ocispec.AnnotationRefName] == refName {
			desc = d
			break
		}
	}
	if desc == nil {
		return nil, fmt.Errorf("open layout %s: %q: %w", dir, refName, errdefs.ErrNotFound)
	}
	s := &layoutSource{dir: dir}
	for depth := 0; ; depth++ {
		b, err := s.blob(desc.Digest)
		if err != nil {
			return nil, err
		}
		if !mediatype.IsIndex(desc.MediaType) {
			s.rawMan, s.mdigest = b, desc.Digest
			break
		}
		var nested ocispec.Index
		if depth > 0 || json.Unmarshal(b, &nested) != nil || len(nested.Manifests) == 0 {
			return nil, fmt.Errorf("open layout %s: index %s: %w", dir, desc.Digest, errdefs.ErrNotFound)
		}
		desc = &nested.Manifests[0]
	}
	if err := json.Unmarshal(s.rawMan, &s.manifest); err != nil {
		return nil, fmt.Errorf("open layout %s: manifest %s: %w", dir, s.mdigest, err)
	}
	if s.rawConfig, err = s.blob(s.manifest.Config.Digest); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(s.rawConfig, &s.config); err != nil {
		return nil, fmt.Errorf("open layout %s: config: %w", dir, err)
	}
	return s, nil
}

func (s *layoutSource) blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("blob %q: %w", d, err)
	}
	return filepath.Join(s.dir, "blobs", d.Algorithm().String(), d.Encoded()), nil
}

func (s *layoutSource) blob(d digest.Digest) ([]byte, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", d, err)
	}
	if got := digest.FromBytes(b); got != d {
		return nil, fmt.Errorf("read blob %s: got %s: %w", d, got, errdefs.ErrDigestMismatch)
	}
	return b, nil
}

func (s *layoutSource) Manifest() ocispec.Manifest    { return s.manifest }
func (s *layoutSource) ManifestDigest() digest.Digest { return s.mdigest }
func (s *layoutSource) RawManifest() []byte           { return s.rawMan }
func (s *layoutSource) Config() ocispec.Image         { return s.config }
func (s *layoutSource) RawConfig() []byte             { return s.rawConfig }

func (s *layoutSource) OpenLayer(ctx context.Context, i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(s.manifest.Layers) {
		return nil, fmt.Errorf("open layer %d: %w", i, ErrNoLayer)
	}
	p, err := s.blobPath(s.manifest.Layers[i].Digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open layer %d: %w", i, err)
	}
	return f, nil
}
