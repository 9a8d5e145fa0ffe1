package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
)

func desc(mt string, b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

// manifest builds a one-layer image for arch; it returns the manifest's
// descriptor and every blob by digest.
func manifest(t *testing.T, arch string) (ocispec.Descriptor, map[digest.Digest][]byte) {
	t.Helper()
	layer := bytes.Repeat([]byte(arch), 4096)
	cfg := []byte(`{"architecture":"` + arch + `","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	m, err := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: desc(ocispec.MediaTypeImageConfig, cfg), Layers: []ocispec.Descriptor{desc(ocispec.MediaTypeImageLayer, layer)}})
	if err != nil {
		t.Fatal(err)
	}
	md := desc(ocispec.MediaTypeImageManifest, m)
	md.Platform = &ocispec.Platform{OS: "linux", Architecture: arch}
	return md, map[digest.Digest][]byte{md.Digest: m, digest.FromBytes(cfg): cfg, digest.FromBytes(layer): layer}
}

// partialStore holds an index of amd64 and arm64 with only amd64's blobs,
// as a pull of one platform leaves it, named example.com/app:1.
func partialStore(t *testing.T) (*content.Store, ocispec.Descriptor, ocispec.Descriptor) {
	t.Helper()
	st, err := content.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	amd, blobs := manifest(t, "amd64")
	arm, _ := manifest(t, "arm64")
	for d, b := range blobs {
		if err := st.WriteBlob(ctx, ocispec.Descriptor{Digest: d, Size: int64(len(b))}, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	ix, _ := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{amd, arm}})
	id := desc(ocispec.MediaTypeImageIndex, ix)
	if err := st.WriteBlob(ctx, id, bytes.NewReader(ix)); err != nil {
		t.Fatal(err)
	}
	if err := st.SetName(ctx, "example.com/app:1", id); err != nil {
		t.Fatal(err)
	}
	return st, id, amd
}

func TestCopyStoredPlatformsToLayout(t *testing.T) {
	st, index, amd := partialStore(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "layout")
	res, err := Copy(ctx, FromStore(st, "example.com/app:1"), ToLayout(dir, "x"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Dropped) != 1 || res.Dropped[0].Platform.Architecture != "arm64" {
		t.Errorf("dropped %+v, want arm64", res.Dropped)
	}
	if res.Root.Digest == index.Digest || res.Sent != 2 {
		t.Errorf("root %s (stored index %s), %d blobs sent; want a new index and 2 blobs", res.Root.Digest, index.Digest, res.Sent)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", res.Root.Digest.Encoded()))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := image.DecodeIndex(raw)
	if err != nil || len(idx.Manifests) != 1 || idx.Manifests[0].Digest != amd.Digest {
		t.Errorf("written index %s: %v", raw, err)
	}

	// Layout to layout is byte for byte; a second copy finds every blob.
	dir2 := filepath.Join(t.TempDir(), "layout2")
	res2, err := Copy(ctx, FromLayout(dir, "x"), ToLayout(dir2, "y"), Options{})
	if err != nil || res2.Root.Digest != res.Root.Digest {
		t.Fatalf("layout copy: %v, root %s want %s", err, res2.Root.Digest, res.Root.Digest)
	}
	res3, err := Copy(ctx, FromLayout(dir, "x"), ToLayout(dir2, "y"), Options{})
	if err != nil || res3.Sent != 0 || res3.Existing != 2 {
		t.Errorf("second layout copy: %v, %+v", err, res3)
	}
	if _, _, err := FromLayout(dir2, "nope").Root(ctx); err == nil {
		t.Errorf("a missing tag was found")
	}

	// One platform: its manifest is the root.
	p := image.Platform{OS: "linux", Architecture: "amd64"}
	res4, err := Copy(ctx, FromStore(st, "example.com/app:1"), ToLayout(dir2, "amd"), Options{Platform: &p})
	if err != nil || res4.Root.Digest != amd.Digest {
		t.Errorf("--platform copy: %v, root %s want %s", err, res4.Root.Digest, amd.Digest)
	}
}

func TestSplitLocations(t *testing.T) {
	for in, want := range map[string][2]string{
		"./a/b:1.0": {"./a/b", "1.0"}, "/x:y/z": {"/x:y/z", ""}, "dir": {"dir", ""},
	} {
		if d, tag := splitLayout(in); d != want[0] || tag != want[1] {
			t.Errorf("splitLayout(%q) = %q, %q", in, d, tag)
		}
	}
	if f, n := splitArchive("a.tar:repo/x:1"); f != "a.tar" || n != "repo/x:1" {
		t.Errorf("splitArchive = %q %q", f, n)
	}
}

func TestSniff(t *testing.T) {
	for raw, want := range map[string]string{
		`{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","layers":[]}`: "application/vnd.docker.distribution.manifest.v2+json",
		`{"schemaVersion":2,"manifests":[]}`:                                               ocispec.MediaTypeImageIndex,
		`{"schemaVersion":2,"config":{},"layers":[]}`:                                      ocispec.MediaTypeImageManifest,
	} {
		if got := sniff([]byte(raw)); got != want {
			t.Errorf("sniff(%s) = %s, want %s", raw, got, want)
		}
	}
}
