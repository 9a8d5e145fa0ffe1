package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testimage"
	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// testRef is the name the fake registry serves its image under.
const testRef = "registry.test/app:1"

// fakeRegistry serves the images of its own content store as a Fetcher.
type fakeRegistry struct {
	src    *content.Store
	img    *image.Image
	mu     sync.Mutex
	calls  int
	tamper digest.Digest // a blob served with one byte flipped
}

// newRegistry serves one image made of three small layers.
func newRegistry(t *testing.T) *fakeRegistry {
	t.Helper()
	src, err := content.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	layers := [][]byte{
		testutil.Layer(t, []testutil.Entry{testutil.Dir("etc"), testutil.File("etc/os-release", "ID=test\n")}),
		testutil.Layer(t, []testutil.Entry{testutil.Dir("bin"), testutil.File("bin/app", "#!/bin/sh\necho hi\n")}),
		testutil.Layer(t, []testutil.Entry{testutil.File("etc/os-release", "ID=changed\n")}),
	}
	return &fakeRegistry{src: src, img: testimage.Store(t, src, testRef, layers)}
}

func (r *fakeRegistry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *fakeRegistry) called() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
}

func (r *fakeRegistry) Resolve(ctx context.Context, ref reference.Reference) (ocispec.Descriptor, []byte, error) {
	r.called()
	desc, err := r.src.Get(ctx, ref.String())
	if err != nil {
		return desc, nil, err
	}
	raw, err := r.src.ReadBlob(ctx, desc, 1<<20)
	return desc, raw, err
}

func (r *fakeRegistry) FetchManifest(ctx context.Context, _ reference.Reference, desc ocispec.Descriptor) ([]byte, error) {
	r.called()
	return r.src.ReadBlob(ctx, desc, 1<<20)
}

func (r *fakeRegistry) Fetch(ctx context.Context, _ reference.Reference, desc ocispec.Descriptor, offset int64) (io.ReadCloser, int64, error) {
	r.called()
	f, err := r.src.Open(ctx, desc.Digest)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, err
	}
	if desc.Digest == r.tamper {
		b[len(b)/2] ^= 0xff
	}
	return io.NopCloser(bytes.NewReader(b[offset:])), offset, nil
}

// offline is a Fetcher that fails every call.
type offline struct{}

var errOffline = errors.New("offline")

func (offline) Resolve(context.Context, reference.Reference) (ocispec.Descriptor, []byte, error) {
	return ocispec.Descriptor{}, nil, errOffline
}
func (offline) FetchManifest(context.Context, reference.Reference, ocispec.Descriptor) ([]byte, error) {
	return nil, errOffline
}
func (offline) Fetch(context.Context, reference.Reference, ocispec.Descriptor, int64) (io.ReadCloser, int64, error) {
	return nil, 0, errOffline
}

func setup(t *testing.T) (*content.Store, *fakeRegistry, reference.Reference) {
	t.Helper()
	st, err := content.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := reference.Parse(testRef)
	if err != nil {
		t.Fatal(err)
	}
	return st, newRegistry(t), ref
}

// opts pull the fake registry's platform.
func opts() Options { return Options{Pull: image.PullOptions{Platform: testimage.Platform}} }
