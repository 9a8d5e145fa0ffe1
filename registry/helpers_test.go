package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/reference"
)

// memRegistry is ggcr's in-memory registry behind an httptest server, with
// an optional wrapper to misbehave, and a request counter.
type memRegistry struct {
	srv   *httptest.Server
	host  string
	count atomic.Int64
	paths chan string
}

func startMemB(b *testing.B) *memRegistry { return startMemTB(b, nil) }

func startMem(t *testing.T, wrap func(http.Handler) http.Handler) *memRegistry {
	return startMemTB(t, wrap)
}

func startMemTB(t testing.TB, wrap func(http.Handler) http.Handler) *memRegistry {
	t.Helper()
	m := &memRegistry{paths: make(chan string, 1000)}
	var h http.Handler = ggcrregistry.New(ggcrregistry.Logger(nilLogger()))
	if wrap != nil {
		h = wrap(h)
	}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.count.Add(1)
		select {
		case m.paths <- r.Method + " " + r.URL.Path:
		default:
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(m.srv.Close)
	m.host = strings.TrimPrefix(m.srv.URL, "http://")
	return m
}

func (m *memRegistry) requests() []string {
	var out []string
	for {
		select {
		case p := <-m.paths:
			out = append(out, p)
		default:
			return out
		}
	}
}

func (m *memRegistry) ref(t testing.TB, repoTag string) reference.Reference {
	t.Helper()
	r, err := reference.Parse(m.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (m *memRegistry) push(t testing.TB, repoTag string, img v1.Image) {
	t.Helper()
	ref, err := name.ParseReference(m.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push: %v", err)
	}
}

func (m *memRegistry) pushIndex(t testing.TB, repoTag string, idx v1.ImageIndex) {
	t.Helper()
	ref, err := name.ParseReference(m.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("push index: %v", err)
	}
}

func randomImage(t testing.TB, layers int, size int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testClient returns a client with fast retries and an empty keychain
// environment, so the host's own docker config cannot leak in.
func testClient(t testing.TB, opts Options) *Client {
	t.Helper()
	if opts.Keychain == nil {
		opts.Keychain = authn.NewMultiKeychain()
	}
	if opts.Retry == (RetryPolicy{}) {
		opts.Retry = RetryPolicy{Attempts: 4, Backoff: 10 * time.Millisecond, MaxWait: 2 * time.Second}
	}
	if opts.ResponseTimeout == 0 {
		opts.ResponseTimeout = 20 * time.Second
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 10 * time.Second
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func layerDesc(t testing.TB, img v1.Image, i int) ocispec.Descriptor {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ls[i].Digest()
	if err != nil {
		t.Fatal(err)
	}
	sz, err := ls[i].Size()
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := ls[i].MediaType()
	return ocispec.Descriptor{MediaType: string(mt), Digest: digestOf(d.String()), Size: sz}
}

func layerBytes(t testing.TB, img v1.Image, i int) []byte {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ls[i].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func writeHosts(t testing.TB, registry, content string) string {
	t.Helper()
	dir := t.TempDir()
	d := filepath.Join(dir, "certs.d", registry)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "hosts.toml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func nilLogger() *log.Logger { return log.New(io.Discard, "", 0) }

func digestOf(s string) digest.Digest { return digest.Digest(s) }
