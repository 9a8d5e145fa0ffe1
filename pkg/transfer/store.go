package transfer

import (
	"context"
	"errors"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/reference"
)

// storeSource reads an image named in the content store.
type storeSource struct {
	st   *content.Store
	name string
	desc *ocispec.Descriptor // the root, when it has no name
}

// FromStore is the image the store names name (a full reference).
func FromStore(st *content.Store, name string) Source {
	return &storeSource{st: st, name: name}
}

func (s *storeSource) Root(ctx context.Context) (ocispec.Descriptor, []byte, error) {
	var d ocispec.Descriptor
	if s.desc != nil {
		d = *s.desc
	} else {
		var err error
		if d, err = s.st.Get(ctx, s.name); err != nil {
			return d, nil, err
		}
	}
	raw, err := s.st.ReadBlob(ctx, d, mediatype.MaxManifestSize)
	if err != nil {
		return d, nil, fmt.Errorf("image %s: %w", s.name, err)
	}
	return stripPlatform(d), raw, nil
}

func (s *storeSource) Manifest(ctx context.Context, d ocispec.Descriptor) ([]byte, error) {
	raw, err := s.st.ReadBlob(ctx, d, mediatype.MaxManifestSize)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", errNotStored, err)
	}
	return raw, err
}

func (s *storeSource) Open(ctx context.Context, d ocispec.Descriptor, offset int64) (io.ReadCloser, error) {
	f, err := s.st.Open(ctx, d.Digest)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	return f, nil
}

// Repository is where the image was pulled from: its blobs may still be
// there, to be mounted when pushing to another repository of that registry.
func (s *storeSource) Repository() string {
	if s.desc != nil {
		return ""
	}
	ref, err := reference.Parse(s.name)
	if err != nil {
		return ""
	}
	return ref.Name()
}

// storeTarget writes into a content store and names the root.
type storeTarget struct {
	st   *content.Store
	name string
}

func (s *storeTarget) Has(ctx context.Context, d ocispec.Descriptor) (bool, error) {
	info, err := s.st.Info(ctx, d.Digest)
	return err == nil && info.Size == d.Size, nil
}

func (s *storeTarget) PutBlob(ctx context.Context, d ocispec.Descriptor, src Source, _ string, sent func(int64)) (bool, error) {
	rc, err := src.Open(ctx, d, 0)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	return false, s.st.WriteBlob(ctx, d, io.TeeReader(rc, counter(sent)))
}

func (s *storeTarget) PutManifest(ctx context.Context, d ocispec.Descriptor, raw []byte, top bool) error {
	if ok, _ := s.Has(ctx, d); !ok {
		if err := s.st.WriteBlob(ctx, d, bytesReader(raw)); err != nil {
			return err
		}
	}
	if top {
		return s.st.SetName(ctx, s.name, d)
	}
	return nil
}

func (s *storeTarget) Close(context.Context) error { return nil }
