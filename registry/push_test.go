package registry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func blobOpener(b []byte) BlobOpener {
	return func(_ context.Context, off int64) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b[off:])), nil
	}
}

// uploadTracker answers upload status queries (ggcr's registry has none)
// from the Range of the last PATCH it let through, fails the PATCHes
// numbered in fail with 503 without passing them on, and counts the bytes
// passed on.
type uploadTracker struct {
	mu      sync.Mutex
	patches int
	fail    map[int]bool
	sent    int64
	lastRng string
	posts   int
}

func (u *uploadTracker) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/blobs/uploads/") {
			h.ServeHTTP(w, r)
			return
		}
		u.mu.Lock()
		switch r.Method {
		case http.MethodPost:
			u.posts++
		case http.MethodGet:
			rng := u.lastRng
			u.mu.Unlock()
			w.Header().Set("Range", rng)
			w.Header().Set("Location", r.URL.Path)
			w.WriteHeader(http.StatusNoContent)
			return
		case http.MethodPatch:
			u.patches++
			if u.fail[u.patches] {
				u.mu.Unlock()
				_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 100))
				http.Error(w, "injected", http.StatusServiceUnavailable)
				return
			}
			u.sent += r.ContentLength
		}
		u.mu.Unlock()
		h.ServeHTTP(w, r)
		if r.Method == http.MethodPatch {
			u.mu.Lock()
			u.lastRng = w.Header().Get("Range")
			u.mu.Unlock()
		}
	})
}

func TestUploadChunkedResumes(t *testing.T) {
	tr := &uploadTracker{fail: map[int]bool{3: true}}
	m := startMem(t, tr.wrap)
	c := testClient(t, Options{})
	ref := m.ref(t, "push/app:1")
	blob := bytes.Repeat([]byte("ctr-lite push "), 5000) // 70000 bytes, 7 chunks
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	ctx := testCtx(t)

	if ok, err := c.BlobExists(ctx, ref, desc); err != nil || ok {
		t.Fatalf("BlobExists before upload: %v %v", ok, err)
	}
	var acked int64
	mounted, err := c.Upload(ctx, ref, desc, blobOpener(blob), UploadOptions{ChunkSize: 10000, Sent: func(n int64) { acked += n }})
	if err != nil || mounted {
		t.Fatalf("Upload: mounted %v, %v", mounted, err)
	}
	if tr.sent != desc.Size || acked != desc.Size || tr.posts != 1 {
		t.Errorf("registry got %d bytes in %d sessions, %d acknowledged; want %d in 1 (resumed, not resent)", tr.sent, tr.posts, acked, desc.Size)
	}
	if ok, err := c.BlobExists(ctx, ref, desc); err != nil || !ok {
		t.Fatalf("BlobExists after upload: %v %v", ok, err)
	}
	body, _, err := c.Fetch(ctx, ref, desc, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, blob) {
		t.Errorf("fetched blob differs from the uploaded one")
	}

	// A manifest naming it, pushed byte for byte under a tag.
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cdesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	if _, err := c.Upload(ctx, ref, cdesc, blobOpener(cfg), UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	raw := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` +
		cdesc.Digest.String() + `","size":` + itoa(cdesc.Size) + `},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` +
		desc.Digest.String() + `","size":` + itoa(desc.Size) + `}]}`)
	md, err := c.PutManifest(ctx, ref, "1", ocispec.MediaTypeImageManifest, raw)
	if err != nil {
		t.Fatal(err)
	}
	rd, rb, err := c.Resolve(ctx, ref)
	if err != nil || rd.Digest != md.Digest || !bytes.Equal(rb, raw) {
		t.Errorf("resolve after push: %v %s, want %s", err, rd.Digest, md.Digest)
	}
}

func TestUploadWrongBytesRefused(t *testing.T) {
	m := startMem(t, nil)
	c := testClient(t, Options{})
	blob := []byte("the real bytes")
	desc := ocispec.Descriptor{Digest: digest.FromString("other bytes"), Size: int64(len(blob))}
	_, err := c.Upload(testCtx(t), m.ref(t, "push/app:1"), desc, blobOpener(blob), UploadOptions{})
	if err == nil || !strings.Contains(err.Error(), desc.Digest.String()) || !strings.Contains(err.Error(), m.host) {
		t.Errorf("upload of bytes that do not match: %v (want an error naming the blob and the registry)", err)
	}
}

func TestPushScopeRefused(t *testing.T) {
	m := startMem(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost || r.Method == http.MethodPut {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	c := testClient(t, Options{})
	blob := []byte("x")
	desc := ocispec.Descriptor{Digest: digest.FromBytes(blob), Size: 1}
	_, err := c.Upload(testCtx(t), m.ref(t, "push/app:1"), desc, blobOpener(blob), UploadOptions{})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "push scope denied") ||
		!strings.Contains(err.Error(), desc.Digest.String()) || !strings.Contains(err.Error(), m.host) {
		t.Errorf("refused push: %v", err)
	}
	if _, err := c.PutManifest(testCtx(t), m.ref(t, "push/app:1"), "1", ocispec.MediaTypeImageManifest, []byte("{}")); !errors.Is(err, ErrUnauthorized) ||
		!strings.Contains(err.Error(), "push scope denied") {
		t.Errorf("refused manifest push: %v", err)
	}
}

func TestUploadedUpTo(t *testing.T) {
	for h, want := range map[string]int64{"": 0, "0-0": 1, "0-99": 100, "bytes=0-9": 10} {
		if got, err := uploadedUpTo(h); err != nil || got != want {
			t.Errorf("uploadedUpTo(%q) = %d, %v; want %d", h, got, err, want)
		}
	}
	for _, h := range []string{"5-9", "x", "0-"} {
		if _, err := uploadedUpTo(h); err == nil {
			t.Errorf("uploadedUpTo(%q) accepted", h)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A registry that does not mount (it ignores mount= and opens a session)
// gets the blob uploaded into that session.
func TestUploadMountRefused(t *testing.T) {
	var mountAsked bool
	m := startMem(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" {
				mountAsked = true
				r.URL.RawQuery = ""
			}
			h.ServeHTTP(w, r)
		})
	})
	c := testClient(t, Options{})
	ctx := testCtx(t)
	blob := []byte("mount me")
	desc := ocispec.Descriptor{Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	ref := m.ref(t, "b/app:1")
	mounted, err := c.Upload(ctx, ref, desc, blobOpener(blob), UploadOptions{MountFrom: "a/app"})
	if err != nil || mounted || !mountAsked {
		t.Fatalf("upload with a refused mount: mounted %v, asked %v, %v", mounted, mountAsked, err)
	}
	if ok, err := c.BlobExists(ctx, ref, desc); err != nil || !ok {
		t.Errorf("blob not there after the upload: %v %v", ok, err)
	}
}
