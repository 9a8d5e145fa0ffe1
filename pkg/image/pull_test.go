package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/registry"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// memRegistry is ggcr's in-memory registry behind a handler that can count
// and tamper with requests.
type memRegistry struct {
	srv      *httptest.Server
	host     string
	requests atomic.Int64
	blobGets atomic.Int64
	tamper   atomic.Value // string: digest whose blob gets one byte flipped
}

func newMemRegistry(t *testing.T) *memRegistry {
	t.Helper()
	m := &memRegistry{}
	m.tamper.Store("")
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.requests.Add(1)
		bad := m.tamper.Load().(string)
		if strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet {
			m.blobGets.Add(1)
			if bad != "" && strings.HasSuffix(r.URL.Path, bad) {
				rec := httptest.NewRecorder()
				inner.ServeHTTP(rec, r)
				body := rec.Body.Bytes()
				if len(body) > 0 {
					body[len(body)/2] ^= 0xff
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(body)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(m.srv.Close)
	m.host = strings.TrimPrefix(m.srv.URL, "http://")
	return m
}

func (m *memRegistry) push(t *testing.T, repoTag string, img v1.Image) reference.Reference {
	t.Helper()
	r, err := name.ParseReference(m.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return mustParse(t, m.host+"/"+repoTag)
}

func (m *memRegistry) pushIndex(t *testing.T, repoTag string, idx v1.ImageIndex) reference.Reference {
	t.Helper()
	r, err := name.ParseReference(m.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	return mustParse(t, m.host+"/"+repoTag)
}

func mustParse(t *testing.T, s string) reference.Reference {
	t.Helper()
	r, err := reference.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testImage(t *testing.T, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(4096, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func setup(t *testing.T) (*content.Store, *registry.Client) {
	t.Helper()
	st, err := content.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := registry.New(registry.Options{ConfigDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return st, rc
}

func TestPullStoresEverythingAndNamesIt(t *testing.T) {
	m := newMemRegistry(t)
	img := testImage(t, 3)
	ref := m.push(t, "app:1", img)
	st, rc := setup(t)
	ctx := context.Background()

	res, err := Pull(ctx, st, rc, ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Fetched != 4 || res.Existing != 0 {
		t.Errorf("fetched %d existing %d, want 4 (config + 3 layers) and 0", res.Fetched, res.Existing)
	}
	want, _ := img.Digest()
	if res.Image.ManifestDesc.Digest.String() != want.String() {
		t.Errorf("manifest digest %s, want %s", res.Image.ManifestDesc.Digest, want)
	}
	layers, _ := img.Layers()
	for _, l := range layers {
		d, _ := l.Digest()
		if _, err := st.Info(ctx, digest.Digest(d.String())); err != nil {
			t.Errorf("layer %s not stored: %v", d, err)
		}
	}
	loaded, err := Load(ctx, st, ref, HostPlatform())
	if err != nil {
		t.Fatal(err)
	}
	if loaded.ManifestDesc.Digest != res.Image.ManifestDesc.Digest || len(loaded.Manifest.Layers) != 3 {
		t.Errorf("Load gave %s with %d layers", loaded.ManifestDesc.Digest, len(loaded.Manifest.Layers))
	}

	// A second pull sends only the manifest request and downloads nothing.
	before := m.requests.Load()
	res, err = Pull(ctx, st, rc, ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.UpToDate() || res.Bytes != 0 {
		t.Errorf("re-pull fetched %d blobs, %d bytes", res.Fetched, res.Bytes)
	}
	if n := m.requests.Load() - before; n > 2 { // /v2/ ping at most, then the manifest
		t.Errorf("re-pull sent %d requests, want at most 2", n)
	}
}

func TestPullSharedLayersStoredOnce(t *testing.T) {
	m := newMemRegistry(t)
	base := testImage(t, 2)
	extra, err := random.Layer(2048, types.OCIUncompressedLayer)
	if err != nil {
		t.Fatal(err)
	}
	child, err := mutate.AppendLayers(base, extra)
	if err != nil {
		t.Fatal(err)
	}
	refBase := m.push(t, "base:1", base)
	refChild := m.push(t, "child:1", child)
	st, rc := setup(t)
	ctx := context.Background()
	if _, err := Pull(ctx, st, rc, refBase, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	gets := m.blobGets.Load()
	res, err := Pull(ctx, st, rc, refChild, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The child shares two layers: only its config and new layer come over.
	if res.Fetched != 2 || res.Existing != 2 {
		t.Errorf("child pull fetched %d, found %d stored; want 2 and 2", res.Fetched, res.Existing)
	}
	if n := m.blobGets.Load() - gets; n != 2 {
		t.Errorf("child pull made %d blob GETs, want 2", n)
	}
}

func TestPullPlatformFromIndex(t *testing.T) {
	m := newMemRegistry(t)
	amd := testImage(t, 1)
	arm := testImage(t, 1)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	ref := m.pushIndex(t, "multi:1", idx)
	ctx := context.Background()
	tests := []struct {
		platform string
		want     v1.Image
		err      error
	}{
		{"linux/amd64", amd, nil},
		{"linux/arm64", arm, nil},
		{"linux/arm64/v8", arm, nil},
		{"linux/s390x", nil, ErrPlatformNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.platform, func(t *testing.T) {
			st, rc := setup(t)
			p, err := ParsePlatform(tt.platform)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Pull(ctx, st, rc, ref, PullOptions{Platform: p})
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if names, _ := st.List(ctx); len(names) != 0 {
					t.Errorf("a failed pull named %v", names)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _ := tt.want.Digest()
			if res.Image.ManifestDesc.Digest.String() != want.String() {
				t.Errorf("pulled %s, want %s", res.Image.ManifestDesc.Digest, want)
			}
			idxDigest, _ := idx.Digest()
			if res.Image.Target.Digest.String() != idxDigest.String() {
				t.Errorf("name points to %s, want the index %s", res.Image.Target.Digest, idxDigest)
			}
			// The index blob is stored too, and Load finds the platform's manifest through it.
			img, err := Load(ctx, st, ref, p)
			if err != nil {
				t.Fatal(err)
			}
			if img.ManifestDesc.Digest != res.Image.ManifestDesc.Digest {
				t.Errorf("Load chose %s", img.ManifestDesc.Digest)
			}
		})
	}
}

func TestPullTamperedBlobStoresNothing(t *testing.T) {
	m := newMemRegistry(t)
	img := testImage(t, 2)
	ref := m.push(t, "bad:1", img)
	layers, _ := img.Layers()
	bad, _ := layers[1].Digest()
	m.tamper.Store(bad.String())
	st, rc := setup(t)
	ctx := context.Background()
	_, err := Pull(ctx, st, rc, ref, PullOptions{})
	if !errors.Is(err, errdefs.ErrDigestMismatch) {
		t.Fatalf("err = %v, want digest mismatch", err)
	}
	if !strings.Contains(err.Error(), bad.String()) {
		t.Errorf("error %q does not name the blob %s", err, bad)
	}
	if _, err := st.Info(ctx, digest.Digest(bad.String())); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("tampered blob is in the store: %v", err)
	}
	if names, _ := st.List(ctx); len(names) != 0 {
		t.Errorf("a failed pull named %v", names)
	}
	partials, _ := filepath.Glob(filepath.Join(st.Root().Path(), "ingest", bad.Hex))
	for _, p := range partials {
		if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
			t.Errorf("bad bytes kept as a partial download: %s", p)
		}
	}
}

func TestPullUnknownImage(t *testing.T) {
	m := newMemRegistry(t)
	st, rc := setup(t)
	ref := mustParse(t, m.host+"/nope:1")
	_, err := Pull(context.Background(), st, rc, ref, PullOptions{})
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("err = %v, want not found", err)
	}
	if !strings.Contains(err.Error(), "nope") || strings.Count(err.Error(), "\n") > 0 {
		t.Errorf("error should be one line naming the image: %q", err)
	}
}

// TestPullStoredBlobWrongSize checks that a manifest naming a stored
// layer's digest with another size fails the pull instead of counting the
// layer as already there (and naming an image of 4611.7 PB).
func TestPullStoredBlobWrongSize(t *testing.T) {
	m := newMemRegistry(t)
	img := testImage(t, 1)
	good := m.push(t, "good:1", img)
	st, rc := setup(t)
	ctx := context.Background()
	if _, err := Pull(ctx, st, rc, good, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	var man ocispec.Manifest
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	man.Layers[0].Size = 1 << 62
	liar := m.putManifest(t, "liar:1", man)
	_, err = Pull(ctx, st, rc, liar, PullOptions{})
	if !errors.Is(err, errdefs.ErrSizeMismatch) {
		t.Fatalf("err = %v, want a size mismatch", err)
	}
	if !strings.Contains(err.Error(), man.Layers[0].Digest.String()) {
		t.Errorf("error %q does not name the layer", err)
	}
	if names, _ := st.List(ctx); len(names) != 1 {
		t.Errorf("names after the refused pull: %v", names)
	}
}

// putManifest pushes a hand-made manifest as repo:tag.
func (m *memRegistry) putManifest(t *testing.T, repoTag string, man ocispec.Manifest) reference.Reference {
	t.Helper()
	raw, err := json.Marshal(man)
	if err != nil {
		t.Fatal(err)
	}
	repo, tag, _ := strings.Cut(repoTag, ":")
	req, _ := http.NewRequest(http.MethodPut, m.srv.URL+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(raw))
	req.Header.Set("Content-Type", man.MediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("push manifest: %s", resp.Status)
	}
	return mustParse(t, m.host+"/"+repoTag)
}

// TestPullRefusesTooManyLayers checks a manifest with more layers than
// overlayfs can stack is refused before any blob is downloaded.
func TestPullRefusesTooManyLayers(t *testing.T) {
	m := newMemRegistry(t)
	man := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromString("config"), Size: 6}}
	man.SchemaVersion = 2
	for i := range mediatype.MaxLayers + 1 {
		man.Layers = append(man.Layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip,
			Digest: digest.FromString(fmt.Sprint(i)), Size: 100})
	}
	ref := m.putManifest(t, "many:1", man)
	st, rc := setup(t)
	_, err := Pull(context.Background(), st, rc, ref, PullOptions{})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprintf("%d layers, at most %d", mediatype.MaxLayers+1, mediatype.MaxLayers)) {
		t.Fatalf("err = %v, want the layer count refused, naming the limit", err)
	}
	if n := m.blobGets.Load(); n != 0 {
		t.Errorf("%d blobs downloaded before the refusal", n)
	}
}
