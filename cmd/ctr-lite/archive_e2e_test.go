package main

import (
	"archive/tar"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestImportExportRoundTrip(t *testing.T) {
	e := newEnv(t)
	debian := testutil.ImageLayout(t, testutil.Debian)
	debianName := layoutName(t, debian)
	type importCase struct {
		file string
		ok   bool
		want string
	}
	tests := []importCase{
		{dockerSave(t, "busybox-save.tar", testutil.Image(t, testutil.Busybox)), true, "imported "},
		{debian, true, debianName},
		{tarOf(t, "no-manifest.tar", map[string]string{"repositories": "{}"}), false, "no manifest.json or index.json"},
		{tarOf(t, "null-manifest.tar", map[string]string{"manifest.json": "null"}), false, "lists no images"},
	}
	// The corpus adds real-world archives: docker-save tarballs of several
	// Docker versions and ggcr's broken ones.
	if corpus, ok := testutil.CorpusDir(t); ok {
		for _, c := range []importCase{
			{"ggcr-testdata/test_image_1.tar", true, "imported "},
			{"ggcr-testdata/hello-world-v25.tar", true, "imported "},
			{"ggcr-testdata/whiteout_image.tar", true, "imported "},
			{"ggcr-testdata/no_manifest.tar", false, "no manifest.json or index.json"},
			{"ggcr-testdata/null_manifest.tar", false, "lists no images"},
		} {
			c.file = filepath.Join(corpus, c.file)
			tests = append(tests, c)
		}
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			r := e.ctl("import", tt.file)
			if (r.code == 0) != tt.ok || !strings.Contains(r.out+r.err, tt.want) {
				t.Fatalf("import: %s", r)
			}
		})
	}
	e.fsckClean()
	for _, format := range []string{"docker", "oci"} {
		out := filepath.Join(t.TempDir(), "debian."+format+".tar")
		e.must("export", "--format", format, debianName, out)
		// A fresh store imports what we exported, with the same manifest.
		f := newEnv(t)
		got := f.must("import", out)
		if !strings.Contains(got, debianName) {
			t.Errorf("re-import of the %s export: %s", format, got)
		}
		if a, b := e.must("images", "--json"), f.must("images", "--json"); !strings.Contains(a, digestOf(b, debianName)) {
			t.Errorf("%s round trip changed the manifest digest", format)
		}
		if _, err := exec.LookPath("skopeo"); err == nil {
			transport := map[string]string{"docker": "docker-archive:", "oci": "oci-archive:"}[format]
			if b, err := exec.Command("skopeo", "inspect", transport+out).CombinedOutput(); err != nil {
				t.Errorf("skopeo cannot read our %s export: %v\n%s", format, err, b)
			}
		}
	}
}

// layoutName is the reference name of an OCI layout's first image.
func layoutName(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil || len(idx.Manifests) == 0 {
		t.Fatalf("%s/index.json: %v", dir, err)
	}
	return idx.Manifests[0].Annotations[ocispec.AnnotationRefName]
}

// dockerSave writes img as a docker-save tarball and returns its path.
func dockerSave(t *testing.T, file string, img v1.Image) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), file)
	tag, err := name.NewTag("example.com/saved:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatalf("docker-save tarball: %v", err)
	}
	return p
}

// tarOf writes a tar file of the given members and returns its path.
func tarOf(t *testing.T, file string, members map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), file)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for n, body := range members {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// digestOf finds the digest field printed right after name in images --json.
func digestOf(js, name string) string {
	i := strings.Index(js, name)
	if i < 0 {
		return "<missing " + name + ">"
	}
	j := strings.Index(js[i:], `"digest": "`)
	if j < 0 {
		return "<no digest>"
	}
	s := js[i+j+len(`"digest": "`):]
	return s[:strings.IndexByte(s, '"')]
}
