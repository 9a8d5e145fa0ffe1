package inspect

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden; got:\n%s", name, got)
	}
}

func jsonBytes(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// busybox and debian are the test images (testutil.Busybox and Debian):
// the corpus's real ones when CTRLITE_CORPUS is set, else built ones.
func busybox(t testing.TB) Source { t.Helper(); return testImage(t, testutil.Busybox) }

func debian(t testing.TB) Source { t.Helper(); return testImage(t, testutil.Debian) }

func testImage(t testing.TB, name string) Source {
	t.Helper()
	dir := testutil.ImageLayout(t, name)
	s, err := LayoutSource(dir, testutil.LayoutRefName(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// imageGolden names the golden file of a report on a test image: the
// corpus's images have theirs, the built ones' start with "built-". Built
// goldens hold figures of Debian 12's busybox-static (1:1.35.0-4+deb12u1):
// with another busybox, check the difference and rewrite them with -update.
func imageGolden(t testing.TB, name string) string {
	if _, ok := testutil.CorpusDir(t); ok {
		return name
	}
	return "built-" + name
}

// debianFacts are what the tests know of the Debian image's top layer:
// its whiteouts and the size of the busybox it adds.
func debianFacts(t testing.TB) (whiteouts int, busyboxSize int64) {
	if _, ok := testutil.CorpusDir(t); ok {
		return 5, 1982256 // etc/.wh.motd, usr/share/.wh.man, var/log opaque, two opaque doc dirs
	}
	fi, err := os.Stat(testutil.BusyboxBinary)
	if err != nil {
		t.Fatal(err)
	}
	return 3, fi.Size() // etc/.wh.motd, usr/share/.wh.man, var/log opaque
}

// subsetSource presents the first n layers of an image as an image.
type subsetSource struct {
	Source
	n int
}

func (s subsetSource) Manifest() ocispec.Manifest {
	m := s.Source.Manifest()
	m.Layers = m.Layers[:s.n]
	return m
}

func (s subsetSource) Config() ocispec.Image {
	c := s.Source.Config()
	c.RootFS.DiffIDs = c.RootFS.DiffIDs[:s.n]
	c.History = c.History[:s.n]
	return c
}

func (s subsetSource) ManifestDigest() digest.Digest {
	return digest.FromString(s.Source.ManifestDigest().String() + "/" + string(rune('0'+s.n)))
}

// ent describes one tar entry for a layer built in a test.
type ent struct {
	name string
	typ  byte
	size int   // content: size bytes of 'x' for a regular file
	mode int64 // 0 means 0644 (0755 for directories)
	link string
	uid  int
}

func buildTar(t testing.TB, ents []ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Uid: e.uid, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(e.size)
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bytes.Repeat([]byte{'x'}, e.size)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// memSource is an image held in memory, built from tar layers in a test.
type memSource struct {
	manifest ocispec.Manifest
	config   ocispec.Image
	rawMan   []byte
	rawCfg   []byte
	blobs    [][]byte
	raws     [][]byte
}

// recompress stores every layer as zstd or uncompressed instead of gzip,
// with matching media types and digests.
func (s *memSource) recompress(t testing.TB, kind string) {
	t.Helper()
	for i, raw := range s.raws {
		blob, mt := raw, ocispec.MediaTypeImageLayer
		if kind == "zstd" {
			enc, err := zstd.NewWriter(nil)
			if err != nil {
				t.Fatal(err)
			}
			blob, mt = enc.EncodeAll(raw, nil), ocispec.MediaTypeImageLayerZstd
		}
		s.blobs[i] = blob
		s.manifest.Layers[i] = ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	}
	var err error
	if s.rawMan, err = json.Marshal(s.manifest); err != nil {
		t.Fatal(err)
	}
}

func newMemSource(t testing.TB, user string, history []ocispec.History, layers ...[]ent) *memSource {
	t.Helper()
	s := &memSource{}
	s.config.OS, s.config.Architecture = "linux", "amd64"
	s.config.Config.User = user
	s.config.RootFS.Type = "layers"
	s.config.History = history
	for _, l := range layers {
		raw := buildTar(t, l)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(raw)
		zw.Close()
		s.blobs = append(s.blobs, gz.Bytes())
		s.raws = append(s.raws, raw)
		s.config.RootFS.DiffIDs = append(s.config.RootFS.DiffIDs, digest.FromBytes(raw))
		s.manifest.Layers = append(s.manifest.Layers, ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(gz.Bytes()), Size: int64(gz.Len()),
		})
	}
	var err error
	if s.rawCfg, err = json.Marshal(s.config); err != nil {
		t.Fatal(err)
	}
	s.manifest.SchemaVersion = 2
	s.manifest.MediaType = ocispec.MediaTypeImageManifest
	s.manifest.Config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(s.rawCfg), Size: int64(len(s.rawCfg))}
	if s.rawMan, err = json.Marshal(s.manifest); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *memSource) Manifest() ocispec.Manifest    { return s.manifest }
func (s *memSource) ManifestDigest() digest.Digest { return digest.FromBytes(s.rawMan) }
func (s *memSource) RawManifest() []byte           { return s.rawMan }
func (s *memSource) Config() ocispec.Image         { return s.config }
func (s *memSource) RawConfig() []byte             { return s.rawCfg }
func (s *memSource) OpenLayer(_ context.Context, i int) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(s.blobs[i])), nil
}
