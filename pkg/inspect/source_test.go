package inspect

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/opencontainers/go-digest"
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
	dir := testutil.CorpusFile(t, "busybox-1.38.0-musl-amd64-oci")
	t.Run("by name and default", func(t *testing.T) {
		for _, name := range []string{"busybox:1.38.0-musl", ""} {
			s, err := LayoutSource(dir, name)
			if err != nil {
				t.Fatal(err)
			}
			if s.ManifestDigest().String() != "sha256:a34ce92094b7b100a98fbd21411a92825f6827b1bc5f6918c253516c90556998" ||
				len(s.Manifest().Layers) != 1 || s.Config().Config.Cmd[0] != "sh" || len(s.RawConfig()) != 462 || len(s.RawManifest()) != 608 {
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
		p := filepath.Join(tmp, "blobs/sha256/a34ce92094b7b100a98fbd21411a92825f6827b1bc5f6918c253516c90556998")
		os.Chmod(p, 0o644)
		if err := os.WriteFile(p, []byte(`{"schemaVersion":2}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LayoutSource(tmp, ""); !errors.Is(err, errdefs.ErrDigestMismatch) {
			t.Errorf("err = %v", err)
		}
	})
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
