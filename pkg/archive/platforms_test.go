package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// storeIndex names an index of one small image per platform, of which
// only the platforms in stored have their blobs in s (as after `pull
// --platform`). It returns the index and each platform's manifest.
func storeIndex(t *testing.T, s *content.Store, name string, plats []string, stored ...string) (ocispec.Descriptor, map[string]ocispec.Descriptor) {
	t.Helper()
	ctx := context.Background()
	put := func(keep bool, mt string, b []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if keep {
			if err := s.WriteBlob(ctx, d, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	manifests := map[string]ocispec.Descriptor{}
	for _, ps := range plats {
		keep := strings.Contains(" "+strings.Join(stored, " ")+" ", " "+ps+" ")
		p, err := image.ParsePlatform(ps)
		if err != nil {
			t.Fatal(err)
		}
		layer := testutil.Layer(t, []testutil.Entry{testutil.File("etc/arch", ps)})
		var cfg ocispec.Image
		cfg.OS, cfg.Architecture, cfg.RootFS.Type = p.OS, p.Architecture, "layers"
		cfg.RootFS.DiffIDs = []digest.Digest{digest.FromBytes(layer)}
		raw, _ := json.Marshal(cfg)
		m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest,
			Config: put(keep, ocispec.MediaTypeImageConfig, raw),
			Layers: []ocispec.Descriptor{put(keep, ocispec.MediaTypeImageLayerGzip, testutil.Gzip(t, layer))}}
		m.SchemaVersion = 2
		raw, _ = json.Marshal(m)
		d := put(keep, ocispec.MediaTypeImageManifest, raw)
		d.Platform = &ocispec.Platform{OS: p.OS, Architecture: p.Architecture}
		manifests[ps] = d
		idx.Manifests = append(idx.Manifests, d)
	}
	raw, _ := json.Marshal(idx)
	d := put(true, ocispec.MediaTypeImageIndex, raw)
	if err := s.SetName(ctx, name, d); err != nil {
		t.Fatal(err)
	}
	return d, manifests
}

// archiveIndex reads an exported archive, fails the test when any
// descriptor reachable from its index.json (or manifest.json entry) names
// a blob it does not hold, and returns index.json's entries.
func archiveIndex(t *testing.T, path string) []ocispec.Descriptor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name], _ = io.ReadAll(tr)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	var walk func(d ocispec.Descriptor)
	walk = func(d ocispec.Descriptor) {
		b, ok := files["blobs/sha256/"+d.Digest.Encoded()]
		if !ok {
			t.Fatalf("archive names %s (%s) but does not hold it", d.Digest, d.MediaType)
		}
		if digest.FromBytes(b) != d.Digest {
			t.Fatalf("blob %s does not hash to its name", d.Digest)
		}
		if !mediatype.IsIndex(d.MediaType) && !mediatype.IsManifest(d.MediaType) {
			return
		}
		kids, err := content.Children(d, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kids {
			walk(k)
		}
	}
	for _, d := range idx.Manifests {
		walk(d)
	}
	if b, ok := files["manifest.json"]; ok {
		var dm []dockerManifest
		if err := json.Unmarshal(b, &dm); err != nil {
			t.Fatal(err)
		}
		for _, m := range dm {
			for _, p := range append([]string{m.Config}, m.Layers...) {
				if _, ok := files[p]; !ok {
					t.Fatalf("manifest.json names %s, not in the archive", p)
				}
			}
		}
	}
	return idx.Manifests
}

func TestExportStoredPlatformsOnly(t *testing.T) {
	const name = "example.com/multi:1"
	all := []string{"linux/amd64", "linux/arm64", "linux/s390x"}
	tests := []struct {
		name    string
		stored  []string
		opts    ExportOptions
		want    string // what index.json names: "index" (the stored one), "new-index", or a platform's manifest
		wantErr error
	}{
		{"oci all stored", all, ExportOptions{Format: "oci"}, "index", nil},
		{"oci one stored", []string{"linux/arm64"}, ExportOptions{Format: "oci"}, "linux/arm64", nil},
		{"oci two stored", []string{"linux/amd64", "linux/arm64"}, ExportOptions{Format: "oci"}, "new-index", nil},
		{"oci none stored", nil, ExportOptions{Format: "oci"}, "", image.ErrNotStored},
		{"oci --platform stored", []string{"linux/amd64", "linux/arm64"}, ExportOptions{Format: "oci", Platform: image.Platform{OS: "linux", Architecture: "arm64"}}, "linux/arm64", nil},
		{"oci --platform missing", []string{"linux/arm64"}, ExportOptions{Format: "oci", Platform: image.Platform{OS: "linux", Architecture: "amd64"}}, "", image.ErrNotStored},
		{"docker --platform stored", []string{"linux/arm64"}, ExportOptions{Format: "docker", Platform: image.Platform{OS: "linux", Architecture: "arm64"}}, "linux/arm64", nil},
		{"docker host missing", []string{"linux/s390x"}, ExportOptions{Format: "docker"}, "", image.ErrNotStored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			idx, manifests := storeIndex(t, s, name, all, tt.stored...)
			p := filepath.Join(t.TempDir(), "out.tar")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			err = Export(context.Background(), s, []string{name}, f, tt.opts)
			f.Close()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one line matching %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := archiveIndex(t, p)
			if len(got) != 1 {
				t.Fatalf("index.json names %d images", len(got))
			}
			switch tt.want {
			case "index":
				if got[0].Digest != idx.Digest {
					t.Errorf("index.json names %s, want the stored index %s", got[0].Digest, idx.Digest)
				}
			case "new-index":
				if got[0].Digest == idx.Digest || !mediatype.IsIndex(got[0].MediaType) {
					t.Errorf("index.json names %s (%s), want a new index of the stored platforms", got[0].Digest, got[0].MediaType)
				}
			default:
				if got[0].Digest != manifests[tt.want].Digest {
					t.Errorf("index.json names %s, want the %s manifest %s", got[0].Digest, tt.want, manifests[tt.want].Digest)
				}
			}
			// It imports back whole, under the same name.
			s2 := openStore(t)
			if _, err := Import(context.Background(), s2, p); err != nil {
				t.Fatal(err)
			}
			checkStore(t, s2)
			transport := "oci-archive"
			if tt.opts.Format == "docker" {
				transport = "docker-archive"
			}
			testutil.SkopeoInspect(t, transport, p, "")
			testutil.PodmanLoad(t, p)
		})
	}
}
