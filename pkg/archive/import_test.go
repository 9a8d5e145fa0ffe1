package archive

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

func openStore(t *testing.T) *content.Store {
	t.Helper()
	s, err := content.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(imgs []content.Named) []string {
	var out []string
	for _, n := range imgs {
		out = append(out, n.Name)
	}
	sort.Strings(out)
	return out
}

// checkStore asserts fsck finds nothing and every returned image's tree is complete.
func checkStore(t *testing.T, s *content.Store) {
	t.Helper()
	probs, err := s.Fsck(context.Background(), false)
	if err != nil || len(probs) != 0 {
		t.Fatalf("fsck after import: %v %v", probs, err)
	}
}

func TestImport(t *testing.T) {
	type importCase struct {
		path   string
		names  []string // images named after import ("" for an unnamed one)
		layers int      // layers of the first image (-1: do not check)
		errHas string   // non-empty: import fails with this in its message
	}
	bb, bbName := testImage(t, testutil.Busybox)
	deb, debName := testImage(t, testutil.Debian)
	tests := []importCase{
		{bb, []string{bbName}, 1, ""},
		{deb, []string{debName}, 2, ""},
		{testutil.DockerSave(t, testutil.Image(t, testutil.Alpine), "example.com/saved:1"), []string{"example.com/saved:1"}, 1, ""},
		{testutil.TarFile(t, map[string]string{"repositories": "{}"}), nil, 0, "no manifest.json or index.json"},
		{testutil.TarFile(t, map[string]string{"manifest.json": "null"}), nil, 0, "lists no images"},
		{testutil.TarFile(t, map[string]string{"etc/hostname": "a layer, not an archive\n"}), nil, 0, "no manifest.json or index.json"},
	}
	// The corpus adds real-world archives: ggcr's docker-save tarballs
	// (bundles, a symlinked layer.tar, Docker 25's OCI-in-save, broken ones).
	corpus, ok := testutil.CorpusDir(t)
	g := filepath.Join(corpus, "ggcr-testdata")
	if ok {
		tests = append(tests, []importCase{
			{g + "/test_image_1.tar", []string{"docker.io/bazel/v1/tarball:test_image_1"}, 1, ""},
			{g + "/test_bundle.tar", []string{"docker.io/library/test_image_1:latest", "docker.io/library/test_image_2:latest"}, 1, ""},
			{g + "/test_link.tar", []string{"docker.io/bazel/v1/tarball:test_image_1", "docker.io/bazel/v1/tarball:test_image_3"}, -1, ""},
			{g + "/source_image.tar", []string{"docker.io/bazel/pkg/v1/mutate:source_image"}, 1, ""},
			{g + "/whiteout_image.tar", []string{"docker.io/bazel/pkg/v1/mutate:whiteout_image"}, 3, ""},
			{g + "/whiteout_dir.tar", []string{"localhost:5000/whiteout:latest"}, 4, ""},
			{g + "/overwritten_file.tar", []string{"docker.io/bazel/pkg/v1/mutate:overwritten_file"}, 3, ""},
			{g + "/hello-world-v25.tar", []string{""}, 1, ""},
			{g + "/no_manifest.tar", nil, 0, "no manifest.json or index.json"},
			{g + "/null_manifest.tar", nil, 0, "lists no images"},
			{g + "/moby-go-archive-v0.3.3-broken.tar", nil, 0, "no manifest.json or index.json"},
		}...)
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			s := openStore(t)
			imgs, err := Import(context.Background(), s, tc.path)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want a one-line error containing %q", err, tc.errHas)
				}
				list, _ := s.List(context.Background())
				if len(list) != 0 {
					t.Fatalf("names after a failed import: %v", list)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) == 0 {
				t.Fatal("no images imported")
			}
			if tc.names != nil && strings.Join(names(imgs), ",") != strings.Join(tc.names, ",") {
				t.Fatalf("names = %q, want %q", names(imgs), tc.names)
			}
			for _, im := range imgs {
				if im.Name == "" {
					continue
				}
				if got, err := s.Get(context.Background(), im.Name); err != nil || got.Digest != im.Target.Digest {
					t.Fatalf("Get(%s) = %v, %v", im.Name, got.Digest, err)
				}
			}
			if tc.layers >= 0 {
				if n := countLayers(t, s, imgs[0].Target); n != tc.layers {
					t.Fatalf("first image has %d layers, want %d", n, tc.layers)
				}
			}
			checkStore(t, s)
			// importing again changes nothing and still succeeds
			again, err := Import(context.Background(), s, tc.path)
			if err != nil || strings.Join(names(again), ",") != strings.Join(names(imgs), ",") {
				t.Fatalf("re-import: %v %v", names(again), err)
			}
		})
	}
}

func TestImportRejectsCorruptBlob(t *testing.T) {
	src := testutil.ImageLayout(t, testutil.Busybox)
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	// flip one byte of the (only) layer, the largest blob
	blobs, _ := filepath.Glob(filepath.Join(dir, "blobs/sha256/*"))
	var big string
	var size int64
	for _, b := range blobs {
		if fi, _ := os.Stat(b); fi.Size() > size {
			big, size = b, fi.Size()
		}
	}
	data, _ := os.ReadFile(big)
	data[len(data)/2] ^= 1
	os.Chmod(big, 0o644)
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	_, err := Import(context.Background(), s, dir)
	if !errors.Is(err, errdefs.ErrDigestMismatch) {
		t.Fatalf("err = %v, want a digest mismatch", err)
	}
	if list, _ := s.List(context.Background()); len(list) != 0 {
		t.Fatalf("image named despite a corrupt layer: %v", list)
	}
	n := 0
	s.Walk(context.Background(), func(in content.Info) error {
		if in.Size == size {
			n++
		}
		return nil
	})
	if n != 0 {
		t.Fatal("corrupt layer stored")
	}
}
