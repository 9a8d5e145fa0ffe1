package rootfs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testimage"
	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/archive"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/unpack"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var amd64 = testimage.Platform

// bothWays flattens img sequentially and in parallel and compares the trees.
func bothWays(t *testing.T, st *content.Store, img *image.Image) {
	t.Helper()
	ctx := context.Background()
	base := t.TempDir()
	seq, par := filepath.Join(base, "seq"), filepath.Join(base, "par")
	if _, err := Flatten(ctx, st, img, seq, Options{Sequential: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := Flatten(ctx, st, img, par, Options{}); err != nil {
		t.Fatal(err)
	}
	testutil.AssertSameTree(t, seq, par, testutil.TreeOptions{MTime: true})
	left, _ := filepath.Glob(filepath.Join(base, ".ctr-lite-unpack-*"))
	if len(left) != 0 {
		t.Errorf("work directories left beside the target: %v", left)
	}
}

func TestParallelFlattenEqualsSequentialCorpus(t *testing.T) {
	testutil.RequireRoot(t) // the parallel path builds overlay-form layers: whiteouts are devices
	srcs := []string{testutil.ImageLayout(t, testutil.Debian), testutil.ImageLayout(t, testutil.Busybox)}
	// The corpus adds ggcr's whiteout and overwritten-file images.
	if _, ok := testutil.CorpusDir(t); ok {
		for _, rel := range []string{"whiteout_image.tar", "whiteout_dir.tar", "overwritten_file.tar", "test_image_1.tar"} {
			srcs = append(srcs, testutil.CorpusFile(t, "ggcr-testdata/"+rel))
		}
	}
	for _, src := range srcs {
		t.Run(filepath.Base(src), func(t *testing.T) {
			st, err := content.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			named, err := archive.Import(context.Background(), st, src)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range named {
				if n.Name == "" {
					continue
				}
				ref, err := reference.Parse(n.Name)
				if err != nil {
					t.Fatal(err)
				}
				img, err := image.Load(context.Background(), st, ref, amd64)
				if err != nil {
					t.Fatal(err)
				}
				bothWays(t, st, img)
			}
		})
	}
}

func TestParallelFlattenEqualsSequential(t *testing.T) {
	testutil.RequireRoot(t)
	when := time.Unix(1700000000, 0)
	f := func(name, body string) testutil.Entry {
		return testutil.Entry{Type: tar.TypeReg, Name: name, Mode: 0o644, Content: []byte(body), ModTime: when}
	}
	d := func(name string, mode int64) testutil.Entry {
		return testutil.Entry{Type: tar.TypeDir, Name: name, Mode: mode, ModTime: when}
	}
	tests := []struct {
		name   string
		layers [][]testutil.Entry
	}{
		{"whiteouts, opaque, replacements", [][]testutil.Entry{
			{d("etc/", 0o755), f("etc/motd", "hi"), f("etc/keep", "k"), d("var/", 0o755), d("var/log/", 0o755), f("var/log/a", "a"),
				d("opt/", 0o755), d("opt/x/", 0o700), f("opt/x/y", "y"), f("file-to-dir", "f"), d("dir-to-file/", 0o755), f("dir-to-file/z", "z"),
				{Type: tar.TypeSymlink, Name: "lib64", Linkname: "usr/lib", ModTime: when}, d("usr/", 0o755), d("usr/lib/", 0o755), f("usr/lib/libc", "c")},
			{f("etc/.wh.motd", ""), d("var/log/", 0o750), f("var/log/.wh..wh..opq", ""), f("var/log/b", "b"),
				f("opt/.wh.x", ""), d("file-to-dir/", 0o711), f("file-to-dir/in", "in"), f("dir-to-file", "now a file"),
				f("lib64/libm", "m"), d("new/", 0o755), d("new/deep/", 0o755), f("new/deep/.wh.nothing", ""), f("new/deep/f", "f")},
			{{Type: tar.TypeLink, Name: "etc/keep-link", Linkname: "etc/keep", ModTime: when}, f("etc/keep", "overwritten"),
				d("var/", 0o700), f("var/log/c", "c")},
		}},
		{"many layers on the same paths", [][]testutil.Entry{
			{d("a/", 0o755), f("a/1", "one")}, {f("a/1", "two"), f("a/2", "x")}, {f("a/.wh.2", "")},
			{d("a/", 0o711), f("a/.wh..wh..opq", ""), f("a/3", "three")}, {f("a/1", "again")},
		}},
		{"opaque marker at a layer root", [][]testutil.Entry{
			{d("a/", 0o755), f("a/1", "one"), f("top", "t")}, {f("b", "b")},
			{f(".wh..wh..opq", ""), d("a/", 0o755), f("a/2", "two")}, {f("c", "c")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := content.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			var layers [][]byte
			for _, l := range tt.layers {
				layers = append(layers, testutil.Layer(t, l))
			}
			bothWays(t, st, testimage.Store(t, st, "example.com/x:1", layers))
		})
	}
}

func TestFlattenRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if err := prepareDir(dir); err == nil {
		t.Fatal("a non-empty target was accepted")
	}
}

// TestFlattenFailureLeavesTargetEmpty checks every failure path, in both
// the sequential and the parallel unpack, removes what was written: a
// decompression bomb over MaxUncompressed, a layer whose content does not
// match its diffID, a cancelled context.
func TestFlattenFailureLeavesTargetEmpty(t *testing.T) {
	testutil.RequireRoot(t) // the parallel path
	base := []testutil.Entry{testutil.Dir("etc"), testutil.File("etc/hosts", "h"), testutil.File("bin/sh", "x")}
	bomb := []testutil.Entry{{Name: "zeros", Content: make([]byte, 8<<20)}}
	tests := []struct {
		name    string
		layers  [][]testutil.Entry
		opts    Options
		corrupt bool // the last layer's diffID is wrong
		cancel  bool
		want    error
	}{
		{"bomb over the limit", [][]testutil.Entry{base, bomb}, Options{MaxUncompressed: 1 << 20}, false, false, unpack.ErrLimit},
		{"diffID mismatch", [][]testutil.Entry{base, {testutil.File("x", "y")}}, Options{}, true, false, errdefs.ErrDiffIDMismatch},
		{"cancelled", [][]testutil.Entry{base, bomb}, Options{}, false, true, context.Canceled},
	}
	for _, tt := range tests {
		for _, seq := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/sequential=%v", tt.name, seq), func(t *testing.T) {
				st, err := content.Open(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				var layers [][]byte
				for _, l := range tt.layers {
					layers = append(layers, testutil.Layer(t, l))
				}
				img := testimage.Store(t, st, "example.com/x:1", layers)
				if tt.corrupt {
					img.Config.RootFS.DiffIDs[len(layers)-1] = digest.FromString("not this layer")
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				opts := tt.opts
				opts.Sequential = seq
				if tt.cancel {
					opts.Open = func(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
						if d.Digest == img.Manifest.Layers[1].Digest {
							cancel()
						}
						return st.Opener()(ctx, d)
					}
				}
				dir := filepath.Join(t.TempDir(), "rootfs")
				_, err = Flatten(ctx, st, img, dir, opts)
				if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if names := dirNames(t, dir); len(names) != 0 {
					t.Errorf("partial tree left in the target: %v", names)
				}
				if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".ctr-lite-unpack-*")); len(left) != 0 {
					t.Errorf("work directories left: %v", left)
				}
			})
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
