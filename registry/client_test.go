package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
)

func TestResolve(t *testing.T) {
	m := startMem(t, nil)
	img := randomImage(t, 2, 1024)
	m.push(t, "app/one:v1", img)
	want, _ := img.Digest()
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()

	idx, err := random.Index(512, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	m.pushIndex(t, "app/multi:v1", idx)
	idxDigest, _ := idx.Digest()
	idxRaw, _ := idx.RawManifest()
	dockerIdx := mutate.IndexMediaType(idx, types.DockerManifestList)
	m.pushIndex(t, "app/multi:docker", dockerIdx)
	dockerRaw, _ := dockerIdx.RawManifest()

	c := testClient(t, Options{})
	tests := []struct {
		name, ref string
		mediaType string
		raw       []byte
	}{
		{"tag", "app/one:v1", string(mt), raw},
		{"digest", "app/one@" + want.String(), string(mt), raw},
		{"tag and digest", "app/one:nonexistent@" + want.String(), string(mt), raw},
		{"oci index", "app/multi:v1", ocispec.MediaTypeImageIndex, idxRaw},
		{"docker manifest list", "app/multi:docker", mediatype.DockerManifestList, dockerRaw},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			desc, b, err := c.Resolve(testCtx(t), m.ref(t, tc.ref))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, tc.raw) {
				t.Fatalf("bytes differ from the pushed manifest")
			}
			if desc.MediaType != tc.mediaType || desc.Size != int64(len(tc.raw)) || desc.Digest.String() != sha(tc.raw) {
				t.Fatalf("descriptor %+v, want %s %d %s", desc, tc.mediaType, len(tc.raw), sha(tc.raw))
			}
		})
	}

	t.Run("child manifest of index", func(t *testing.T) {
		im, _ := idx.IndexManifest()
		for _, d := range im.Manifests {
			desc := ocispec.Descriptor{MediaType: string(d.MediaType), Digest: digest.Digest(d.Digest.String()), Size: d.Size}
			b, err := c.FetchManifest(testCtx(t), m.ref(t, "app/multi:v1"), desc)
			if err != nil {
				t.Fatal(err)
			}
			if sha(b) != d.Digest.String() {
				t.Fatalf("child %s: got bytes with digest %s", d.Digest, sha(b))
			}
		}
		if idxDigest.String() == "" {
			t.Fatal("no index digest")
		}
	})

	t.Run("child with wrong size", func(t *testing.T) {
		im, _ := idx.IndexManifest()
		d := im.Manifests[0]
		desc := ocispec.Descriptor{Digest: digest.Digest(d.Digest.String()), Size: d.Size - 1}
		_, err := c.FetchManifest(testCtx(t), m.ref(t, "app/multi:v1"), desc)
		if !errors.Is(err, errdefs.ErrDigestMismatch) && !errors.Is(err, errdefs.ErrTooLarge) {
			t.Fatalf("want a size error, got %v", err)
		}
	})
}

func TestResolveErrors(t *testing.T) {
	m := startMem(t, nil)
	img := randomImage(t, 1, 100)
	m.push(t, "app/one:v1", img)
	c := testClient(t, Options{})

	tests := []struct {
		name, ref string
		want      error
	}{
		{"unknown tag", "app/one:nope", errdefs.ErrNotFound},
		{"unknown repository", "other/repo:v1", errdefs.ErrNotFound},
		{"unknown digest", "app/one@sha256:" + strings.Repeat("a", 64), errdefs.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := m.ref(t, tc.ref)
			_, _, err := c.Resolve(testCtx(t), ref)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusNotFound {
				t.Fatalf("want *Error with status 404, got %#v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, ref.String()) || strings.Contains(msg, "\n") || !strings.Contains(msg, "not found") {
				t.Fatalf("message %q should be one line naming %s and the cause", msg, ref)
			}
		})
	}
}

// serveManifest answers manifest requests with body and content type.
func serveManifest(ct string, body []byte, status int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(status)
				w.Write(body)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestResolveRefuses(t *testing.T) {
	big := bytes.Repeat([]byte(" "), mediatype.MaxManifestSize+10)
	copy(big, `{"schemaVersion":2,"layers":[]}`)
	schema1 := []byte(`{"schemaVersion":1,"name":"x","tag":"v1","fsLayers":[{"blobSum":"sha256:aa"}]}`)
	tests := []struct {
		name   string
		ct     string
		body   []byte
		status int
		want   error
	}{
		{"schema 1 signed", mediatype.DockerSchema1Signed, schema1, 200, errdefs.ErrUnsupported},
		{"schema 1 by content", "application/json", schema1, 200, errdefs.ErrUnsupported},
		{"over 4 MiB", ocispec.MediaTypeImageManifest, big, 200, errdefs.ErrTooLarge},
		{"denied", "application/json", []byte(`{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`), 403, ErrUnauthorized},
		{"not json", "text/html", []byte("<html>"), 200, errdefs.ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := startMem(t, serveManifest(tc.ct, tc.body, tc.status))
			ref := m.ref(t, "some/image:v1")
			_, _, err := testClient(t, Options{}).Resolve(testCtx(t), ref)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), ref.String()) {
				t.Fatalf("error %q does not name the image", err)
			}
		})
	}
}

func TestResolveDigestMismatch(t *testing.T) {
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}`)
	m := startMem(t, serveManifest(ocispec.MediaTypeImageManifest, body, 200))
	ref := m.ref(t, "x/y@"+sha([]byte("something else")))
	_, _, err := testClient(t, Options{}).Resolve(testCtx(t), ref)
	if !errors.Is(err, errdefs.ErrDigestMismatch) {
		t.Fatalf("got %v, want errdefs.ErrDigestMismatch", err)
	}
}

func TestFetch(t *testing.T) {
	m := startMem(t, nil)
	img := randomImage(t, 1, 200_000)
	m.push(t, "app/blob:v1", img)
	desc := layerDesc(t, img, 0)
	full := layerBytes(t, img, 0)
	c := testClient(t, Options{})
	ref := m.ref(t, "app/blob:v1")

	for _, off := range []int64{0, 1, desc.Size / 2, desc.Size - 1, desc.Size} {
		t.Run(fmt.Sprint("offset ", off), func(t *testing.T) {
			rc, start, err := c.Fetch(testCtx(t), ref, desc, off)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if start != off {
				t.Fatalf("start %d, want %d", start, off)
			}
			if !bytes.Equal(b, full[off:]) {
				t.Fatalf("got %d bytes, want the %d from offset %d", len(b), len(full)-int(off), off)
			}
		})
	}

	t.Run("unknown blob", func(t *testing.T) {
		d := desc
		d.Digest = digest.Digest(sha([]byte("nope")))
		_, _, err := c.Fetch(testCtx(t), ref, d, 0)
		if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), string(d.Digest)) {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("foreign urls ignored", func(t *testing.T) {
		d := desc
		d.URLs = []string{"http://203.0.113.1/evil"}
		rc, _, err := c.Fetch(testCtx(t), ref, d, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(b, full) {
			t.Fatal("wrong bytes")
		}
		for _, p := range m.requests() {
			if strings.Contains(p, "evil") {
				t.Fatalf("followed a foreign url: %s", p)
			}
		}
	})
}

// Registries that ignore Range, or misstate sizes.
func TestFetchMisbehaving(t *testing.T) {
	img := randomImage(t, 1, 50_000)
	full := layerBytes(t, img, 0)
	desc := layerDesc(t, img, 0)
	blobHandler := func(f func(w http.ResponseWriter, r *http.Request)) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+string(desc.Digest)) {
					f(w, r)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	t.Run("ignores range", func(t *testing.T) {
		var sawRange atomic.Bool
		m := startMem(t, blobHandler(func(w http.ResponseWriter, r *http.Request) {
			sawRange.Store(r.Header.Get("Range") != "")
			w.Write(full)
		}))
		rc, start, err := testClient(t, Options{}).Fetch(testCtx(t), m.ref(t, "a/b:c"), desc, 1000)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || start != 0 || !bytes.Equal(b, full) || !sawRange.Load() {
			t.Fatalf("start %d, %d bytes, err %v, range sent %v", start, len(b), err, sawRange.Load())
		}
	})
	t.Run("extra bytes", func(t *testing.T) {
		m := startMem(t, blobHandler(func(w http.ResponseWriter, r *http.Request) {
			w.Write(full)
			w.(http.Flusher).Flush() // chunked: no Content-Length
			w.Write([]byte("trailing junk"))
		}))
		rc, _, err := testClient(t, Options{}).Fetch(testCtx(t), m.ref(t, "a/b:c"), desc, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if !errors.Is(err, errdefs.ErrTooLarge) || len(b) > len(full) {
			t.Fatalf("got %d bytes, err %v; want at most %d and errdefs.ErrTooLarge", len(b), err, len(full))
		}
	})
	t.Run("short body", func(t *testing.T) {
		m := startMem(t, blobHandler(func(w http.ResponseWriter, r *http.Request) {
			w.Write(full[:100])
		}))
		rc, _, err := testClient(t, Options{}).Fetch(testCtx(t), m.ref(t, "a/b:c"), desc, 0)
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		if err == nil {
			t.Fatal("a short body was not reported")
		}
	})
	t.Run("wrong content-range", func(t *testing.T) {
		m := startMem(t, blobHandler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(full)-1, len(full)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(full)
		}))
		_, _, err := testClient(t, Options{}).Fetch(testCtx(t), m.ref(t, "a/b:c"), desc, 10)
		if err == nil {
			t.Fatal("206 from the wrong offset accepted")
		}
	})
}

func TestRetries(t *testing.T) {
	img := randomImage(t, 1, 1000)
	tests := []struct {
		name     string
		status   int
		failures int64
		attempts int
		wantErr  bool
	}{
		{"503 twice", http.StatusServiceUnavailable, 2, 4, false},
		{"500 three times", http.StatusInternalServerError, 3, 4, false},
		{"429 with Retry-After", http.StatusTooManyRequests, 1, 4, false},
		{"500 beyond the budget", http.StatusInternalServerError, 10, 3, true},
		{"404 is not retried", http.StatusNotFound, 1, 4, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fails, manifestGets atomic.Int64
			m := startMem(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
						manifestGets.Add(1)
						if fails.Add(1) <= tc.failures {
							w.Header().Set("Retry-After", "0")
							w.WriteHeader(tc.status)
							return
						}
					}
					next.ServeHTTP(w, r)
				})
			})
			m.push(t, "r/x:v1", img)
			fails.Store(0)
			manifestGets.Store(0)
			c := testClient(t, Options{Retry: RetryPolicy{Attempts: tc.attempts, Backoff: 1}})
			_, _, err := c.Resolve(testCtx(t), m.ref(t, "r/x:v1"))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			wantGets := min(tc.failures+1, int64(tc.attempts))
			if tc.status == http.StatusNotFound {
				wantGets = 1
			}
			if manifestGets.Load() != wantGets {
				t.Fatalf("%d manifest requests, want %d", manifestGets.Load(), wantGets)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	m := &memRegistry{host: host}
	c := testClient(t, Options{Retry: RetryPolicy{Attempts: 1}})
	ref := m.ref(t, "a/b:c")
	_, _, err = c.Resolve(testCtx(t), ref)
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("want a wrapped *net.OpError, got %#v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, ref.String()) || strings.Contains(msg, "\n") {
		t.Fatalf("message %q", msg)
	}
}

func TestHead(t *testing.T) {
	m := startMem(t, nil)
	img := randomImage(t, 1, 100)
	m.push(t, "app/one:v1", img)
	want, _ := img.Digest()
	raw, _ := img.RawManifest()
	c := testClient(t, Options{})
	m.requests()
	desc, err := c.Head(testCtx(t), m.ref(t, "app/one:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != want.String() || desc.Size != int64(len(raw)) {
		t.Fatalf("descriptor %+v", desc)
	}
	for _, p := range m.requests() {
		if strings.HasPrefix(p, "GET ") && strings.Contains(p, "/manifests/") {
			t.Fatalf("Head sent %s", p)
		}
	}
	if _, err := c.Head(testCtx(t), m.ref(t, "app/one:nope")); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("unknown tag: %v", err)
	}
}

func TestIsLocal(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost:5000": true, "127.0.0.1:5000": true, "127.9.9.9": true, "[::1]:5000": true,
		"10.0.0.1:5000": false, "registry.example.com": false, "localhost.example.com": false, "128.0.0.1": false,
	} {
		if got := isLocal(host); got != want {
			t.Errorf("isLocal(%q) = %v, want %v", host, got, want)
		}
	}
}
