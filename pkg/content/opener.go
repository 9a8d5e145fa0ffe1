package content

import (
	"context"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Opener returns a blob's bytes given its descriptor. It is how layers are
// handed to whoever unpacks or reads them, wherever the bytes come from:
// the store (Store.Opener), a download in progress (Store.Follow) or a
// registry read without storing.
type Opener func(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error)

// Opener returns an Opener of the blobs committed to s; errdefs.ErrNotFound for
// the others, errdefs.ErrSizeMismatch when the stored blob is not desc.Size long.
func (s *Store) Opener() Opener {
	return func(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
		f, err := s.Open(ctx, desc.Digest)
		if err != nil {
			return nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
		}
		if fi.Size() != desc.Size {
			f.Close()
			return nil, fmt.Errorf("blob %s: stored with %d bytes, descriptor says %d: %w", desc.Digest, fi.Size(), desc.Size, errdefs.ErrSizeMismatch)
		}
		return f, nil
	}
}
