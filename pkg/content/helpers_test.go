package content

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/mediatype"
)

// randomBlob returns n random bytes and their descriptor.
// blobFile writes a random blob of n bytes to dir/data, for helper
// processes to read, and returns the path, the bytes and the descriptor.
func blobFile(t testing.TB, dir string, n int) (string, []byte, ocispec.Descriptor) {
	t.Helper()
	b, desc := randomBlob(t, n)
	path := filepath.Join(dir, "data")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b, desc
}

func randomBlob(t testing.TB, n int) ([]byte, ocispec.Descriptor) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(b), Size: int64(n)}
}

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t testing.TB, s *Store, mt string, b []byte) ocispec.Descriptor {
	t.Helper()
	d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := s.WriteBlob(context.Background(), d, bytesReader(b)); err != nil {
		t.Fatalf("write %s: %v", d.Digest, err)
	}
	return d
}

func putJSON(t testing.TB, s *Store, mt string, v any) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return put(t, s, mt, b)
}

// image stores a config and n random layers and a manifest of media type
// mt (OCI or Docker) pointing to them; it returns the manifest and all.
func image(t testing.TB, s *Store, mt string, n int) (ocispec.Descriptor, []ocispec.Descriptor) {
	t.Helper()
	cfgType, layerType := ocispec.MediaTypeImageConfig, ocispec.MediaTypeImageLayerGzip
	if mt == mediatype.DockerManifest {
		cfgType, layerType = "application/vnd.docker.container.image.v1+json", "application/vnd.docker.image.rootfs.diff.tar.gzip"
	}
	_, cfgDesc := randomBlob(t, 10) // unique per image
	cfg := put(t, s, cfgType, []byte(`{"architecture":"amd64","os":"linux","nonce":"`+cfgDesc.Digest.Encoded()+`"}`))
	all := []ocispec.Descriptor{cfg}
	var layers []ocispec.Descriptor
	for i := 0; i < n; i++ {
		b, _ := randomBlob(t, 1000+i)
		l := put(t, s, layerType, b)
		layers = append(layers, l)
		all = append(all, l)
	}
	m := putJSON(t, s, mt, map[string]any{"schemaVersion": 2, "mediaType": mt, "config": cfg, "layers": layers})
	return m, append(all, m)
}

func isErr(err, target error) bool { return errors.Is(err, target) }

type sliceReader struct {
	b []byte
	i int
}

func (r *sliceReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

func bytesReader(b []byte) io.Reader { return &sliceReader{b: b} }
