package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The same image stored gzip, zstd and uncompressed gives the same report
// apart from the blobs themselves.
func TestCompressions(t *testing.T) {
	ctx := context.Background()
	base := wastefulImage(t).(*memSource)
	want, err := Efficiency(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"zstd", "none"} {
		t.Run(kind, func(t *testing.T) {
			src := wastefulImage(t).(*memSource)
			src.recompress(t, kind)
			lr, err := Layers(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range lr.Layers {
				if l.MediaType != src.manifest.Layers[i].MediaType || l.UncompressedSize != int64(len(src.raws[i])) {
					t.Errorf("layer %d: %+v", i, l)
				}
				if kind == "none" && l.CompressedSize != l.UncompressedSize {
					t.Errorf("uncompressed layer %d: %d != %d", i, l.CompressedSize, l.UncompressedSize)
				}
			}
			got, err := Efficiency(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			if got.WastedBytes != want.WastedBytes || got.Efficiency != want.Efficiency {
				t.Errorf("%s: %+v; gzip gave %+v", kind, got, want)
			}
		})
	}
}

func TestLayoutSource(t *testing.T) {
	dir := testutil.ImageLayout(t, testutil.Busybox)
	// What the layout says, read here: the corpus busybox's figures, or the
	// built one's.
	man, manSize, cfgSize := "sha256:a34ce92094b7b100a98fbd21411a92825f6827b1bc5f6918c253516c90556998", 608, 462
	if _, ok := testutil.CorpusDir(t); !ok {
		man, manSize, cfgSize = layoutFigures(t, dir)
	}
	t.Run("by name and default", func(t *testing.T) {
		for _, name := range []string{testutil.LayoutRefName(t, dir), ""} {
			s, err := LayoutSource(dir, name)
			if err != nil {
				t.Fatal(err)
			}
			if s.ManifestDigest().String() != man ||
				len(s.Manifest().Layers) != 1 || s.Config().Config.Cmd[0] != "sh" || len(s.RawConfig()) != cfgSize || len(s.RawManifest()) != manSize {
				t.Errorf("%q: manifest %s", name, s.ManifestDigest())
			}
			rc, err := s.OpenLayer(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, rc)
			rc.Close()
			if n != s.Manifest().Layers[0].Size {
				t.Errorf("layer 0: %d bytes", n)
			}
			if _, err := s.OpenLayer(context.Background(), 1); !errors.Is(err, ErrNoLayer) {
				t.Errorf("layer 1: %v", err)
			}
		}
	})
	t.Run("unknown name", func(t *testing.T) {
		if _, err := LayoutSource(dir, "nope:latest"); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("corrupt manifest blob", func(t *testing.T) {
		tmp := t.TempDir()
		copyTree(t, dir, tmp)
		p := filepath.Join(tmp, "blobs/sha256", strings.TrimPrefix(man, "sha256:"))
		os.Chmod(p, 0o644)
		if err := os.WriteFile(p, []byte(`{"schemaVersion":2}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LayoutSource(tmp, ""); !errors.Is(err, errdefs.ErrDigestMismatch) {
			t.Errorf("err = %v", err)
		}
	})
}

// layoutFigures reads an OCI layout's first manifest digest and size and
// its config's size.
func layoutFigures(t *testing.T, dir string) (string, int, int) {
	t.Helper()
	var idx ocispec.Index
	var m ocispec.Manifest
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err == nil {
		err = json.Unmarshal(b, &idx)
	}
	if err == nil {
		b, err = os.ReadFile(filepath.Join(dir, "blobs/sha256", idx.Manifests[0].Digest.Encoded()))
	}
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	return idx.Manifests[0].Digest.String(), int(idx.Manifests[0].Size), int(m.Config.Size)
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriteRaw(t *testing.T) {
	src := busybox(t)
	var buf bytes.Buffer
	if err := WriteRaw(&buf, src.RawConfig(), false); err != nil {
		t.Fatal(err)
	}
	if got := digest.FromBytes(buf.Bytes()); got != src.Manifest().Config.Digest {
		t.Errorf("raw output hashes to %s, want %s:\n%s", got, src.Manifest().Config.Digest, buf.String())
	}
	buf.Reset()
	if err := WriteRaw(&buf, src.RawConfig(), true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\n  \"config\": {") || !strings.HasSuffix(buf.String(), "}\n") {
		t.Errorf("pretty output:\n%s", buf.String())
	}
	if err := WriteRaw(&buf, []byte("{not json"), true); err == nil {
		t.Error("invalid JSON accepted")
	}
}
