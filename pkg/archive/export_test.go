package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// importImages fills a store from archives or layouts and returns it.
func importImages(t *testing.T, paths ...string) *content.Store {
	t.Helper()
	s := openStore(t)
	for _, p := range paths {
		if _, err := Import(context.Background(), s, p); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// testImage returns the layout of a test image (testutil.Busybox, ...) and
// the name it has once imported.
func testImage(t *testing.T, name string) (string, string) {
	t.Helper()
	dir := testutil.ImageLayout(t, name)
	ref, err := reference.Parse(testutil.LayoutRefName(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	return dir, ref.String()
}

func exportFile(t *testing.T, s *content.Store, names []string, format string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "out.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Export(context.Background(), s, names, f, ExportOptions{Format: format}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExportRoundTrip(t *testing.T) {
	bbDir, busybox := testImage(t, testutil.Busybox)
	// A second image: ggcr's whiteout_dir.tar from the corpus, else the
	// built Alpine image.
	other, whiteout := testImage(t, testutil.Alpine)
	if _, ok := testutil.CorpusDir(t); ok {
		other, whiteout = testutil.CorpusFile(t, "ggcr-testdata/whiteout_dir.tar"), "localhost:5000/whiteout:latest"
	}
	s := importImages(t, bbDir, other)
	for _, format := range []string{"docker", "oci"} {
		for _, names := range [][]string{{busybox}, {busybox, whiteout}} {
			t.Run(format+"-"+strings.Join(names, "+"), func(t *testing.T) {
				p := exportFile(t, s, names, format)
				// our own import reads it back with the same manifests
				s2 := openStore(t)
				imgs, err := Import(context.Background(), s2, p)
				if err != nil {
					t.Fatal(err)
				}
				if want := slices.Sorted(slices.Values(names)); strings.Join(namesOf(imgs), ",") != strings.Join(want, ",") {
					t.Fatalf("re-imported names %v, want %v", namesOf(imgs), names)
				}
				for _, n := range names {
					a, _ := s.Get(context.Background(), n)
					b, err := s2.Get(context.Background(), n)
					if err != nil || a.Digest != b.Digest {
						t.Fatalf("%s: manifest %s after round trip, want %s (%v)", n, b.Digest, a.Digest, err)
					}
				}
				checkStore(t, s2)
			})
		}
	}
}

func namesOf(imgs []content.Named) []string { return names(imgs) }

func TestExportSkopeo(t *testing.T) {
	testutil.RequireTool(t, "skopeo", "skopeo")
	dir, name := testImage(t, testutil.Debian)
	s := importImages(t, dir)
	want, _ := s.Get(context.Background(), name)

	t.Run("docker-archive", func(t *testing.T) {
		p := exportFile(t, s, []string{name}, "docker")
		out, err := exec.Command("skopeo", "inspect", "docker-archive:"+p).CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo inspect: %v: %s", err, out)
		}
		var res struct {
			RepoTags []string
			Layers   []string
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Layers) != 2 {
			t.Fatalf("skopeo sees %d layers: %s", len(res.Layers), out)
		}
		// and it can copy it out as a whole image
		dst := filepath.Join(t.TempDir(), "oci")
		if out, err := exec.Command("skopeo", "copy", "docker-archive:"+p, "oci:"+dst+":x").CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy docker-archive: %v: %s", err, out)
		}
	})
	t.Run("oci-archive", func(t *testing.T) {
		p := exportFile(t, s, []string{name}, "oci")
		dst := filepath.Join(t.TempDir(), "oci")
		out, err := exec.Command("skopeo", "copy", "oci-archive:"+p, "oci:"+dst+":copied").CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo copy oci-archive: %v: %s", err, out)
		}
		var idx ocispec.Index
		data, _ := os.ReadFile(filepath.Join(dst, "index.json"))
		if err := json.Unmarshal(data, &idx); err != nil || len(idx.Manifests) != 1 || idx.Manifests[0].Digest != want.Digest {
			t.Fatalf("skopeo's copy has index %s, want manifest %s", data, want.Digest)
		}
	})
}

func TestExportErrors(t *testing.T) {
	dir, busybox := testImage(t, testutil.Busybox)
	s := importImages(t, dir)
	tests := []struct {
		name   string
		names  []string
		format string
		want   error
	}{
		{"unknown format", []string{busybox}, "zip", ErrUnknownFormatName},
		{"unknown image", []string{"docker.io/library/nope:1"}, "oci", errdefs.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Export(context.Background(), s, tc.names, &bytes.Buffer{}, ExportOptions{Format: tc.format})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
