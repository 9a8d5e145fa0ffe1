package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// importCorpus fills a store from corpus entries and returns it.
func importCorpus(t *testing.T, rels ...string) *content.Store {
	t.Helper()
	s := openStore(t)
	for _, rel := range rels {
		if _, err := Import(context.Background(), s, testutil.CorpusFile(t, rel)); err != nil {
			t.Fatal(err)
		}
	}
	return s
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
	const busybox = "docker.io/library/busybox:1.38.0-musl"
	const whiteout = "localhost:5000/whiteout:latest"
	s := importCorpus(t, "busybox-1.38.0-musl-amd64-oci", "ggcr-testdata/whiteout_dir.tar")
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
				if strings.Join(namesOf(imgs), ",") != strings.Join(names, ",") {
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
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("skopeo not installed")
	}
	const name = "docker.io/library/debian-bookworm-minbase-2layer:latest"
	s := importCorpus(t, "debian-bookworm-2layer-oci")
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
	s := importCorpus(t, "busybox-1.38.0-musl-amd64-oci")
	tests := []struct {
		name   string
		names  []string
		format string
		want   error
	}{
		{"unknown format", []string{"docker.io/library/busybox:1.38.0-musl"}, "zip", ErrUnknownFormatName},
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
