package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/content"
)

type fixture struct {
	srv                     *httptest.Server
	root                    string
	manifest, config, layer ocispec.Descriptor
	rawManifest, rawLayer   []byte
	index                   ocispec.Descriptor
}

func put(t *testing.T, st *content.Store, mt string, b []byte) ocispec.Descriptor {
	t.Helper()
	d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := st.WriteBlob(context.Background(), d, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return d
}

// newFixture stores a one-layer image as 127.0.0.1:5000/app:1 and
// docker.io/library/alpine:3 (an index of it) and serves the store.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	st, err := content.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{root: root}
	f.rawLayer = bytes.Repeat([]byte("0123456789"), 1000)
	f.layer = put(t, st, ocispec.MediaTypeImageLayer, f.rawLayer)
	f.config = put(t, st, ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	m, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: f.config, Layers: []ocispec.Descriptor{f.layer}})
	f.rawManifest = m
	f.manifest = put(t, st, ocispec.MediaTypeImageManifest, m)
	child := f.manifest
	child.Platform = &ocispec.Platform{OS: "linux", Architecture: "amd64"}
	ix, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{child}})
	f.index = put(t, st, ocispec.MediaTypeImageIndex, ix)
	ctx := context.Background()
	if err := st.SetName(ctx, "127.0.0.1:5000/app:1", f.manifest); err != nil {
		t.Fatal(err)
	}
	if err := st.SetName(ctx, "docker.io/library/alpine:3", f.index); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(Handler(st, nil))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) blobPath(d digest.Digest) string {
	return filepath.Join(f.root, "content", "blobs", "sha256", d.Encoded())
}

func (f *fixture) do(t *testing.T, method, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestPullConformance follows the OCI distribution-spec conformance
// suite's pull category, and the read-only rules.
func TestPullConformance(t *testing.T) {
	f := newFixture(t)
	m, l := f.manifest.Digest.String(), f.layer.Digest.String()
	missing := digest.FromString("missing").String()
	cases := []struct {
		name, method, path string
		hdr                []string
		status             int
		body               []byte // nil: not checked
		digest, ctype      string
		code               string // error code in the body
	}{
		{name: "base", method: "GET", path: "/v2/", status: 200},
		{name: "manifest by tag", method: "GET", path: "/v2/app/manifests/1", status: 200, body: f.rawManifest, digest: m, ctype: ocispec.MediaTypeImageManifest},
		{name: "manifest by tag for a mirror", method: "GET", path: "/v2/app/manifests/1?ns=127.0.0.1:5000", status: 200, body: f.rawManifest, digest: m},
		{name: "manifest of another registry for a mirror", method: "GET", path: "/v2/app/manifests/1?ns=quay.io", status: 404, code: "MANIFEST_UNKNOWN"},
		{name: "short name", method: "GET", path: "/v2/library/alpine/manifests/3", status: 200, digest: f.index.Digest.String(), ctype: ocispec.MediaTypeImageIndex},
		{name: "manifest HEAD by tag", method: "HEAD", path: "/v2/app/manifests/1", status: 200, body: []byte{}, digest: m},
		{name: "manifest by digest", method: "GET", path: "/v2/app/manifests/" + m, status: 200, body: f.rawManifest, digest: m, ctype: ocispec.MediaTypeImageManifest},
		{name: "manifest HEAD by digest", method: "HEAD", path: "/v2/app/manifests/" + m, status: 200, digest: m},
		{name: "unknown tag", method: "GET", path: "/v2/app/manifests/nope", status: 404, code: "MANIFEST_UNKNOWN"},
		{name: "unknown manifest digest", method: "GET", path: "/v2/app/manifests/" + missing, status: 404, code: "MANIFEST_UNKNOWN"},
		{name: "a layer is no manifest", method: "GET", path: "/v2/app/manifests/" + l, status: 404, code: "MANIFEST_UNKNOWN"},
		{name: "blob", method: "GET", path: "/v2/app/blobs/" + l, status: 200, body: f.rawLayer, digest: l},
		{name: "blob HEAD", method: "HEAD", path: "/v2/app/blobs/" + l, status: 200, body: []byte{}, digest: l},
		{name: "blob range", method: "GET", path: "/v2/app/blobs/" + l, hdr: []string{"Range", "bytes=3-9"}, status: 206, body: f.rawLayer[3:10]},
		{name: "blob open range", method: "GET", path: "/v2/app/blobs/" + l, hdr: []string{"Range", "bytes=9990-"}, status: 206, body: f.rawLayer[9990:]},
		{name: "blob range outside", method: "GET", path: "/v2/app/blobs/" + l, hdr: []string{"Range", "bytes=20000-"}, status: 416},
		{name: "unknown blob", method: "GET", path: "/v2/app/blobs/" + missing, status: 404, code: "BLOB_UNKNOWN"},
		{name: "bad digest", method: "GET", path: "/v2/app/blobs/sha256:zz", status: 400, code: "DIGEST_INVALID"},
		{name: "bad name", method: "GET", path: "/v2/App/manifests/1", status: 400, code: "NAME_INVALID"},
		{name: "tags", method: "GET", path: "/v2/app/tags/list", status: 200, body: []byte(`{"name":"app","tags":["1"]}`)},
		{name: "upload refused", method: "POST", path: "/v2/app/blobs/uploads/", status: 405, code: "UNSUPPORTED"},
		{name: "manifest put refused", method: "PUT", path: "/v2/app/manifests/2", status: 405, code: "UNSUPPORTED"},
		{name: "delete refused", method: "DELETE", path: "/v2/app/manifests/" + m, status: 405, code: "UNSUPPORTED"},
		{name: "blob delete refused", method: "DELETE", path: "/v2/app/blobs/" + l, status: 405, code: "UNSUPPORTED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.do(t, c.method, c.path, c.hdr...)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if c.body != nil && !bytes.Equal(body, c.body) {
				t.Errorf("body %.80q, want %.80q", body, c.body)
			}
			if c.digest != "" && resp.Header.Get("Docker-Content-Digest") != c.digest {
				t.Errorf("Docker-Content-Digest %q, want %s", resp.Header.Get("Docker-Content-Digest"), c.digest)
			}
			if c.ctype != "" && resp.Header.Get("Content-Type") != c.ctype {
				t.Errorf("Content-Type %q, want %s", resp.Header.Get("Content-Type"), c.ctype)
			}
			if c.method == "HEAD" && c.status == 200 && resp.ContentLength <= 0 {
				t.Errorf("HEAD without Content-Length")
			}
			if c.code != "" && !strings.Contains(string(body), `"code":"`+c.code+`"`) {
				t.Errorf("body %s, want error code %s", body, c.code)
			}
		})
	}
}

// TestCorruptBlobNeverServed damages a stored layer and a stored manifest
// on disk: neither is served, whole or in part.
func TestCorruptBlobNeverServed(t *testing.T) {
	f := newFixture(t)
	l := f.layer.Digest.String()
	// Served once intact, so a remembered verification must not outlive
	// the change.
	if resp, _ := f.do(t, "GET", "/v2/app/blobs/"+l); resp.StatusCode != 200 {
		t.Fatalf("intact blob: %d", resp.StatusCode)
	}
	for _, d := range []digest.Digest{f.layer.Digest, f.manifest.Digest} {
		p := f.blobPath(d)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][]string{
		{"/v2/app/blobs/" + l},
		{"/v2/app/blobs/" + l, "Range", "bytes=0-3"},
		{"/v2/app/manifests/1"},
		{"/v2/app/manifests/" + f.manifest.Digest.String()},
	} {
		resp, body := f.do(t, "GET", c[0], c[1:]...)
		if resp.StatusCode != 404 {
			t.Errorf("GET %s %v: status %d, want 404", c[0], c[1:], resp.StatusCode)
		}
		if bytes.Contains(body, f.rawLayer[:10]) || bytes.Contains(body, []byte(`"layers"`)) {
			t.Errorf("GET %s served stored bytes: %.80q", c[0], body)
		}
	}
}
