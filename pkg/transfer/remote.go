package transfer

import (
	"context"
	"fmt"
	"io"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/registry"
)

// remote is an image in a registry, read or written through the client.
type remote struct {
	rc  *registry.Client
	ref reference.Reference
}

// FromRegistry reads ref (a tag or a digest) from its registry.
func FromRegistry(rc *registry.Client, ref reference.Reference) Source {
	return &remote{rc: rc, ref: ref}
}

// ToRegistry writes to ref's repository and names the root by ref's tag
// (or, for a digest reference, checks that the root has that digest).
func ToRegistry(rc *registry.Client, ref reference.Reference) Target {
	return &remote{rc: rc, ref: ref}
}

func (r *remote) Root(ctx context.Context) (ocispec.Descriptor, []byte, error) {
	return r.rc.Resolve(ctx, r.ref)
}

func (r *remote) Manifest(ctx context.Context, d ocispec.Descriptor) ([]byte, error) {
	return r.rc.FetchManifest(ctx, r.ref, d)
}

func (r *remote) Open(ctx context.Context, d ocispec.Descriptor, offset int64) (io.ReadCloser, error) {
	body, start, err := r.rc.Fetch(ctx, r.ref, d, offset)
	if err != nil {
		return nil, err
	}
	if start < offset {
		// The registry ignored Range: skip to the offset.
		if _, err := io.CopyN(io.Discard, body, offset-start); err != nil {
			body.Close()
			return nil, fmt.Errorf("fetch blob %s: skip to %d: %w", d.Digest, offset, err)
		}
	}
	return body, nil
}

func (r *remote) Repository() string { return r.ref.Name() }

func (r *remote) Has(ctx context.Context, d ocispec.Descriptor) (bool, error) {
	return r.rc.BlobExists(ctx, r.ref, d)
}

func (r *remote) PutBlob(ctx context.Context, d ocispec.Descriptor, src Source, mountFrom string, sent func(int64)) (bool, error) {
	var from string
	if repo, ok := strings.CutPrefix(mountFrom, r.ref.Registry()+"/"); ok && repo != r.ref.Repository() {
		from = repo
	}
	open := func(ctx context.Context, offset int64) (io.ReadCloser, error) { return src.Open(ctx, d, offset) }
	return r.rc.Upload(ctx, r.ref, d, open, registry.UploadOptions{MountFrom: from, Sent: sent})
}

func (r *remote) PutManifest(ctx context.Context, d ocispec.Descriptor, raw []byte, top bool) error {
	tag := ""
	if top {
		tag = r.ref.Tag()
		if want := r.ref.Digest(); want != "" && want != d.Digest {
			return fmt.Errorf("push %s: the image's digest is %s", r.ref, d.Digest)
		}
	}
	_, err := r.rc.PutManifest(ctx, r.ref, tag, d.MediaType, raw)
	return err
}

func (r *remote) Close(context.Context) error { return nil }
