package errdefs_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/internal/testimage"
	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/rootfs"
	"github.com/ctrlite/ctr-lite/registry"
)

// One errors.Is answers "was it a digest mismatch", whichever layer found
// it: the registry client, the content store, or the unpacker's diff_id
// check.
func TestDigestMismatchAcrossLayers(t *testing.T) {
	ctx := context.Background()
	found := map[string]error{}

	// The registry serves other bytes than the digest asked for.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
			w.Write([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}`))
			return
		}
		w.WriteHeader(http.StatusOK) // /v2/: no auth
	}))
	t.Cleanup(srv.Close)
	c, err := registry.New(registry.Options{Keychain: authn.NewMultiKeychain(), Retry: registry.RetryPolicy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := reference.Parse(strings.TrimPrefix(srv.URL, "http://") + "/app@" + digest.FromString("other").String())
	if err != nil {
		t.Fatal(err)
	}
	_, _, found["registry"] = c.Resolve(ctx, ref)

	// The content store is handed bytes that do not hash to the descriptor.
	st, err := content.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("hello")
	desc := ocispec.Descriptor{Digest: digest.FromString("world"), Size: int64(len(data))}
	found["content"] = st.WriteBlob(ctx, desc, bytes.NewReader(data))

	// A layer that does not match the config's diff_id, applied in
	// sequence and (as root) in parallel.
	layer := func(name string) []byte {
		return testutil.Layer(t, []testutil.Entry{{Type: tar.TypeReg, Name: name, Mode: 0o644, Content: []byte(name)}})
	}
	for _, seq := range []bool{true, false} {
		img := testimage.Store(t, st, "example.com/x:1", [][]byte{layer("a"), layer("b")})
		img.Config.RootFS.DiffIDs[1] = digest.FromString("not the layer")
		_, err := rootfs.Flatten(ctx, st, img, filepath.Join(t.TempDir(), "rootfs"), rootfs.Options{Sequential: seq})
		name := "rootfs parallel"
		if seq {
			name = "rootfs sequential"
		}
		found[name] = err
		if !errors.Is(err, errdefs.ErrDiffIDMismatch) {
			t.Errorf("%s: %v, want ErrDiffIDMismatch", name, err)
		}
	}

	for layer, err := range found {
		if !errors.Is(err, errdefs.ErrDigestMismatch) {
			t.Errorf("%s: %v, want ErrDigestMismatch", layer, err)
		}
	}
}
