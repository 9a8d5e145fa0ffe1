package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

func TestImportExportRoundTrip(t *testing.T) {
	e := newEnv(t)
	debian := testutil.ImageLayout(t, testutil.Debian)
	debianName := testutil.LayoutRefName(t, debian)
	type importCase struct {
		file string
		ok   bool
		want string
	}
	tests := []importCase{
		{testutil.DockerSave(t, testutil.Image(t, testutil.Busybox), "example.com/saved:1"), true, "imported "},
		{debian, true, debianName},
		{testutil.TarFile(t, map[string]string{"repositories": "{}"}), false, "no manifest.json or index.json"},
		{testutil.TarFile(t, map[string]string{"manifest.json": "null"}), false, "lists no images"},
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
		testutil.PodmanLoad(t, out)
	}
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
