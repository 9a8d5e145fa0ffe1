package unpack

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// testLayer is one layer of a corpus image: a file holding the (possibly
// compressed) tar stream and the diffID the image config declares.
type testLayer struct {
	path      string
	mediaType string
	diffID    digest.Digest
}

type testImage struct {
	name   string
	layers []testLayer
}

func readJSON(t testing.TB, p string, v any) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

// ociImage reads the first manifest of an OCI image layout.
func ociImage(t testing.TB, dir string) testImage {
	t.Helper()
	blob := func(d digest.Digest) string { return filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded()) }
	var idx v1.Index
	readJSON(t, filepath.Join(dir, "index.json"), &idx)
	var m v1.Manifest
	readJSON(t, blob(idx.Manifests[0].Digest), &m)
	var cfg v1.Image
	readJSON(t, blob(m.Config.Digest), &cfg)
	img := testImage{name: filepath.Base(dir)}
	for i, l := range m.Layers {
		img.layers = append(img.layers, testLayer{path: blob(l.Digest), mediaType: l.MediaType, diffID: cfg.RootFS.DiffIDs[i]})
	}
	return img
}

// dockerSave unpacks a docker-save tarball's manifest.json, config and
// layers into a temporary directory with archive/tar.
func dockerSave(t *testing.T, file string) testImage {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+h.Name)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var mf []struct {
		Config string
		Layers []string
	}
	readJSON(t, filepath.Join(dir, "manifest.json"), &mf)
	var cfg v1.Image
	readJSON(t, filepath.Join(dir, mf[0].Config), &cfg)
	img := testImage{name: filepath.Base(file)}
	for i, l := range mf[0].Layers {
		img.layers = append(img.layers, testLayer{path: filepath.Join(dir, l), diffID: cfg.RootFS.DiffIDs[i]})
	}
	return img
}

// alpineImage packages the corpus Alpine minirootfs tarball as a one-layer
// image; its diffID is computed here with the standard library's gzip.
func alpineImage(t *testing.T) testImage {
	p := testutil.CorpusFile(t, "alpine-minirootfs-3.20.3-x86_64.tar.gz")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		t.Fatal(err)
	}
	return testImage{name: "alpine", layers: []testLayer{{
		path: p, mediaType: v1.MediaTypeImageLayerGzip, diffID: digest.NewDigest(digest.SHA256, h),
	}}}
}

// corpusImages are the test images (built, or the corpus's own) and, with
// the corpus, its real-world whiteout images and moby's broken tar.
func corpusImages(t *testing.T) []testImage {
	imgs := []testImage{
		ociImage(t, testutil.ImageLayout(t, testutil.Busybox)),
		ociImage(t, testutil.ImageLayout(t, testutil.Alpine)),
		ociImage(t, testutil.ImageLayout(t, testutil.Debian)),
	}
	c, ok := testutil.CorpusDir(t)
	if !ok {
		return imgs
	}
	return append(imgs,
		alpineImage(t),
		dockerSave(t, filepath.Join(c, "ggcr-testdata", "whiteout_image.tar")),
		dockerSave(t, filepath.Join(c, "ggcr-testdata", "whiteout_dir.tar")),
		dockerSave(t, filepath.Join(c, "ggcr-testdata", "overwritten_file.tar")),
		plainTar(t, filepath.Join(c, "ggcr-testdata", "moby-go-archive-v0.3.3-broken.tar")),
	)
}

// plainTar is a one-layer image made of an uncompressed tar file (moby's
// broken.tar: base-256 uid/gid values).
func plainTar(t *testing.T, p string) testImage {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return testImage{name: filepath.Base(p), layers: []testLayer{{path: p, mediaType: "application/vnd.oci.image.layer.v1.tar", diffID: digest.FromBytes(b)}}}
}

// layerReader opens a layer's tar stream with the standard library's gzip
// (independent of pkg/compression).
func layerReader(t *testing.T, p string) io.ReadCloser {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		t.Fatal(err)
	}
	f.Seek(0, io.SeekStart)
	if magic != [2]byte{0x1f, 0x8b} {
		return f
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}
}

// referenceUnpack builds the expected root filesystem independently: for
// each layer, the image-spec whiteout rules are applied to what lower layers
// left (so they never touch this layer's own entries), then GNU tar
// extracts the layer without its whiteout files.
func referenceUnpack(t *testing.T, img testImage, dir string) {
	t.Helper()
	testutil.RequireTool(t, "tar", "tar")
	for _, l := range img.layers {
		rc := layerReader(t, l.path)
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := path.Clean("/" + h.Name)
			d, b := path.Split(name)
			target := filepath.Join(dir, filepath.FromSlash(d))
			switch {
			case b == ".wh..wh..opq":
				ents, _ := os.ReadDir(target)
				for _, e := range ents {
					if err := os.RemoveAll(filepath.Join(target, e.Name())); err != nil {
						t.Fatal(err)
					}
				}
			case strings.HasPrefix(b, ".wh."):
				if err := os.RemoveAll(filepath.Join(target, strings.TrimPrefix(b, ".wh."))); err != nil {
					t.Fatal(err)
				}
			}
		}
		rc.Close()
		cmd := exec.Command("tar", "-x", "--numeric-owner", "-p", "--xattrs", "--xattrs-include=*",
			"--exclude=.wh.*", "-f", l.path, "-C", dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("reference tar -x %s: %v\n%s", l.path, err, out)
		}
	}
}

func applyImage(t *testing.T, img testImage, dir string, opts Options) {
	t.Helper()
	for _, l := range img.layers {
		f, err := os.Open(l.path)
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := ApplyLayer(context.Background(), dir, f, l.mediaType, opts)
		f.Close()
		if err != nil {
			t.Fatalf("%s: apply %s: %v", img.name, l.path, err)
		}
		if d != l.diffID {
			t.Errorf("%s: layer %s: diffID %s, config says %s", img.name, filepath.Base(l.path), d, l.diffID)
		}
	}
}

func TestCorpusFlatMatchesTar(t *testing.T) {
	testutil.RequireRoot(t)
	for _, img := range corpusImages(t) {
		t.Run(img.name, func(t *testing.T) {
			ref, got := t.TempDir(), t.TempDir()
			referenceUnpack(t, img, ref)
			applyImage(t, img, got, Options{})
			testutil.AssertSameTree(t, ref, got, testutil.TreeOptions{MTime: true})
		})
	}
}

func ociImageB(b *testing.B) testImage {
	return ociImage(b, testutil.ImageLayout(b, testutil.Debian))
}
