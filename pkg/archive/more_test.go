package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
)

func TestImportGzippedSave(t *testing.T) {
	save, want := testutil.DockerSave(t, testutil.Image(t, testutil.Busybox), "example.com/saved:1"), "example.com/saved:1"
	if _, ok := testutil.CorpusDir(t); ok {
		save, want = testutil.CorpusFile(t, "ggcr-testdata/test_image_1.tar"), "docker.io/bazel/v1/tarball:test_image_1"
	}
	src, err := os.ReadFile(save)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(src)
	zw.Close()
	p := filepath.Join(t.TempDir(), "img.tar.gz")
	os.WriteFile(p, buf.Bytes(), 0o644)
	s := openStore(t)
	imgs, err := Import(context.Background(), s, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Name != want {
		t.Fatalf("imported %v", namesOf(imgs))
	}
	ents, _ := os.ReadDir(filepath.Join(s.Root().Path(), "ingest"))
	if len(ents) != 0 {
		t.Fatalf("temp files left in ingest: %d", len(ents))
	}
	checkStore(t, s)
}

func TestExportRefusesCorruptBlob(t *testing.T) {
	dir, name := testImage(t, testutil.Busybox)
	s := importImages(t, dir)
	var biggest content.Info
	s.Walk(context.Background(), func(in content.Info) error {
		if in.Size > biggest.Size {
			biggest = in
		}
		return nil
	})
	p := filepath.Join(s.Root().Path(), "content/blobs/sha256", biggest.Digest.Encoded())
	data, _ := os.ReadFile(p)
	data[100] ^= 1
	os.Chmod(p, 0o644)
	os.WriteFile(p, data, 0o644)
	for _, format := range []string{"docker", "oci"} {
		err := Export(context.Background(), s, []string{name}, &bytes.Buffer{}, ExportOptions{Format: format})
		if !errors.Is(err, errdefs.ErrDigestMismatch) {
			t.Fatalf("%s export of a corrupt store: err = %v", format, err)
		}
	}
}

// TestDockerLoad runs only where a docker daemon answers: docker is not
// one of the tools `make deps` installs, so it skips even under CI=true.
func TestDockerLoad(t *testing.T) {
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no docker daemon")
	}
	dir, name := testImage(t, testutil.Busybox)
	s := importImages(t, dir)
	p := exportFile(t, s, []string{name}, "docker")
	out, err := exec.Command("docker", "load", "-i", p).CombinedOutput()
	if err != nil || !strings.Contains(string(out), strings.TrimPrefix(name, "docker.io/library/")) {
		t.Fatalf("docker load: %v: %s", err, out)
	}
}

// FuzzImportTar feeds arbitrary tarballs (seeded with docker-save and
// oci-archive shapes) to Import: it must never panic, and never name an
// image whose blobs are not all stored.
func FuzzImportTar(f *testing.F) {
	f.Add(tarOf(map[string]string{"manifest.json": `[{"Config":"c.json","RepoTags":["a:1"],"Layers":["l/layer.tar"]}]`,
		"c.json": `{"rootfs":{"type":"layers","diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]}}`, "l/layer.tar": ""}))
	f.Add(tarOf(map[string]string{"oci-layout": `{"imageLayoutVersion":"1.0.0"}`, "index.json": `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0}]}`}))
	f.Add(tarOf(map[string]string{"manifest.json": `null`}))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir, err := os.MkdirTemp("", "fuzzimport")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		p := filepath.Join(dir, "in.tar")
		os.WriteFile(p, data, 0o644)
		s, err := content.Open(filepath.Join(dir, "root"))
		if err != nil {
			t.Fatal(err)
		}
		imgs, err := Import(context.Background(), s, p)
		if err != nil {
			return
		}
		for _, im := range imgs {
			if _, err := s.Info(context.Background(), im.Target.Digest); err != nil {
				t.Fatalf("image %q target not stored: %v", im.Name, err)
			}
		}
	})
}

func tarOf(files map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

// TestImportSkopeoArchives imports archives skopeo writes from the
// busybox layout: an oci-archive and a docker-archive.
func TestImportSkopeoArchives(t *testing.T) {
	testutil.RequireTool(t, "skopeo", "skopeo")
	src := testutil.ImageLayout(t, testutil.Busybox)
	tests := []struct {
		dest string // skopeo destination, %s is the file
		want string // name after import
	}{
		{"oci-archive:%s:example.com/bb:oci", "example.com/bb:oci"},
		{"docker-archive:%s:example.com/bb:docker", "example.com/bb:docker"},
	}
	for _, tc := range tests {
		t.Run(strings.SplitN(tc.dest, ":", 2)[0], func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "a.tar")
			dest := strings.Replace(tc.dest, "%s", p, 1)
			if out, err := exec.Command("skopeo", "copy", "oci:"+src+":"+testutil.LayoutRefName(t, src), dest).CombinedOutput(); err != nil {
				t.Fatalf("skopeo copy: %v: %s", err, out)
			}
			s := openStore(t)
			imgs, err := Import(context.Background(), s, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) != 1 || imgs[0].Name != tc.want {
				t.Fatalf("imported %v, want %s", namesOf(imgs), tc.want)
			}
			if n := countLayers(t, s, imgs[0].Target); n != 1 {
				t.Fatalf("%d layers, want 1", n)
			}
			checkStore(t, s)
		})
	}
}
