package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testimage"
	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/archive"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/rootfs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// importImage loads a test image (testutil.Debian, ...) into a new store
// and returns the image.
func importImage(t *testing.T, name string) (*content.Store, *image.Image) {
	t.Helper()
	st, err := content.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	names, err := archive.Import(ctx, st, testutil.ImageLayout(t, name))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := reference.Parse(names[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	img, err := image.Load(ctx, st, ref, image.Platform{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	return st, img
}

// storeVariant stores an image made of img's first n layers, or with its
// diff IDs replaced, and returns it loaded.
func storeVariant(t *testing.T, st *content.Store, img *image.Image, name string, n int, diffIDs []digest.Digest) *image.Image {
	t.Helper()
	ctx := context.Background()
	cfg := img.Config
	cfg.RootFS.DiffIDs = diffIDs
	if cfg.RootFS.DiffIDs == nil {
		cfg.RootFS.DiffIDs = img.DiffIDs()[:n]
	}
	cfg.History = nil
	m := img.Manifest
	m.Layers = m.Layers[:n]
	cfgRaw, _ := json.Marshal(cfg)
	m.Config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfgRaw), Size: int64(len(cfgRaw))}
	mRaw, _ := json.Marshal(m)
	mDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mRaw), Size: int64(len(mRaw))}
	for _, b := range []struct {
		d   ocispec.Descriptor
		raw []byte
	}{{m.Config, cfgRaw}, {mDesc, mRaw}} {
		if err := st.WriteBlob(ctx, b.d, strings.NewReader(string(b.raw))); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetName(ctx, name, mDesc); err != nil {
		t.Fatal(err)
	}
	ref, err := reference.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	out, err := image.Load(ctx, st, ref, image.HostPlatform())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestChainIDs(t *testing.T) {
	a := digest.FromString("a")
	b := digest.FromString("b")
	got := ChainIDs([]digest.Digest{a, b})
	want := digest.FromString(a.String() + " " + b.String())
	if got[0] != a || got[1] != want {
		t.Fatalf("ChainIDs = %v, want [%s %s]", got, a, want)
	}
}

func TestPrepareBuildsOnceAndShares(t *testing.T) {
	testutil.RequireRoot(t) // overlay whiteouts are device nodes
	st, img := importImage(t, testutil.Debian)
	sn, err := New(st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Two processes' worth of concurrent Prepare calls build each chain once.
	var wg sync.WaitGroup
	results := make([]*Result, 3)
	errs := make([]error, 3)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = sn.Prepare(ctx, img, PrepareOptions{}) }()
	}
	wg.Wait()
	built := 0
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		built += results[i].Built
	}
	if built != 2 {
		t.Errorf("concurrent Prepare built %d snapshots, want 2 (one per layer)", built)
	}
	again, err := sn.Prepare(ctx, img, PrepareOptions{})
	if err != nil || again.Built != 0 || again.Reused != 2 {
		t.Fatalf("second Prepare: %+v, %v", again, err)
	}
	// The second layer's whiteouts are overlay whiteouts: 0:0 char devices and the opaque xattr.
	top := again.Dirs[1]
	var st0 unix.Stat_t
	if err := unix.Lstat(filepath.Join(top, "etc/motd"), &st0); err != nil || st0.Mode&unix.S_IFMT != unix.S_IFCHR || st0.Rdev != 0 {
		t.Errorf("etc/motd in the top layer should be a 0:0 whiteout device: %v mode %o", err, st0.Mode)
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(top, "var/log"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("var/log should be opaque: %v %q", err, buf[:n])
	}

	// An image on the same base shares its first snapshot.
	base := storeVariant(t, st, img, "example.com/base:1", 1, nil)
	res, err := sn.Prepare(ctx, base, PrepareOptions{})
	if err != nil || res.Built != 0 || res.Reused != 1 || res.Dirs[0] != again.Dirs[0] {
		t.Fatalf("base Prepare: %+v, %v", res, err)
	}
	list, err := sn.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestOverlayMountEqualsFlatUnpack(t *testing.T) {
	testutil.RequireRoot(t)
	for _, name := range []string{testutil.Debian, testutil.Busybox} {
		t.Run(name, func(t *testing.T) {
			st, img := importImage(t, name)
			sn, _ := New(st)
			ctx := context.Background()
			res, err := sn.Prepare(ctx, img, PrepareOptions{})
			if err != nil {
				t.Fatal(err)
			}
			flat := filepath.Join(t.TempDir(), "flat")
			if _, err := rootfs.Flatten(ctx, st, img, flat, rootfs.Options{}); err != nil {
				t.Fatal(err)
			}
			mnt := t.TempDir()
			dirs := res.Dirs
			if len(dirs) == 1 {
				dirs = []string{t.TempDir(), dirs[0]} // a read-only overlay needs two lowers
			}
			m := overlayMount(dirs, "", "")
			if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, strings.Join(m.Options, ",")); err != nil {
				t.Fatalf("mount overlay %v: %v", m.Options, err)
			}
			defer unix.Unmount(mnt, unix.MNT_DETACH)
			testutil.AssertSameTree(t, flat, mnt, testutil.TreeOptions{IgnoreXattrs: []string{"trusted.overlay."}})
		})
	}
}

func TestDiffIDMismatchLeavesNothing(t *testing.T) {
	testutil.RequireRoot(t)
	st, img := importImage(t, testutil.Busybox)
	bad := storeVariant(t, st, img, "example.com/bad:1", 1, []digest.Digest{digest.FromString("not the layer")})
	sn, _ := New(st)
	_, err := sn.Prepare(context.Background(), bad, PrepareOptions{})
	if !errors.Is(err, errdefs.ErrDiffIDMismatch) {
		t.Fatalf("err = %v, want diff ID mismatch", err)
	}
	entries, _ := os.ReadDir(filepath.Join(st.Root().Path(), "snapshots"))
	if len(entries) != 0 {
		t.Errorf("a failed build left %d entries in snapshots/", len(entries))
	}
}

func TestGCKeepsWhatImagesNeed(t *testing.T) {
	testutil.RequireRoot(t)
	st, img := importImage(t, testutil.Debian)
	sn, _ := New(st)
	ctx := context.Background()
	res, err := sn.Prepare(ctx, img, PrepareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A crashed build: a temp dir nobody holds, and a snapshot without "done".
	os.MkdirAll(filepath.Join(sn.dir, "tmp-"+res.ChainIDs[0].Encoded()+"-dead"), 0o700)
	stray := digest.FromString("stray")
	os.MkdirAll(filepath.Join(sn.dir, stray.Encoded(), "fs"), 0o700)

	keep := map[digest.Digest]bool{res.ChainIDs[0]: true}
	dry, err := sn.GC(ctx, keep, true)
	if err != nil || len(dry.Removed) != 2 || dry.Temp != 1 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if !sn.Exists(res.ChainIDs[1]) {
		t.Fatal("dry run removed a snapshot")
	}
	got, err := sn.GC(ctx, keep, false)
	if err != nil || len(got.Removed) != 2 || got.Temp != 1 || got.Bytes == 0 {
		t.Fatalf("gc: %+v, %v", got, err)
	}
	if !sn.Exists(res.ChainIDs[0]) || sn.Exists(res.ChainIDs[1]) {
		t.Error("gc removed the wrong snapshot")
	}
	entries, _ := os.ReadDir(sn.dir)
	if len(entries) != 1 {
		t.Errorf("after gc snapshots/ holds %d entries, want 1", len(entries))
	}
}

// TestFsckMixedCompression: a gzip image and a zstd image share a layer's
// diffID, so one snapshot serves both; fsck finds nothing wrong with it,
// whichever built it, and --repair removes nothing.
func TestFsckMixedCompression(t *testing.T) {
	testutil.RequireRoot(t)
	layer := testutil.Layer(t, []testutil.Entry{testutil.File("shared", "same bytes")})
	for _, first := range []string{"gzip", "zstd"} {
		t.Run("built from "+first, func(t *testing.T) {
			st, err := content.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			gz := testimage.Store(t, st, "example.com/img:gzip", [][]byte{layer})
			zs := testimage.StoreZstd(t, st, "example.com/img:zstd", [][]byte{layer})
			if gz.Manifest.Layers[0].Digest == zs.Manifest.Layers[0].Digest {
				t.Fatal("the two images share a blob; want two compressions of one layer")
			}
			build := gz
			if first == "zstd" {
				build = zs
			}
			sn, _ := New(st)
			ctx := context.Background()
			res, err := sn.Prepare(ctx, build, PrepareOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, repair := range []bool{false, true} {
				if probs, err := sn.Check(ctx, repair); err != nil || len(probs) != 0 {
					t.Fatalf("Check(repair=%v) = %v, %v; want no problems", repair, probs, err)
				}
			}
			if !sn.Exists(res.ChainIDs[0]) {
				t.Fatal("repair removed the valid snapshot")
			}
		})
	}
}
