package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testimage"
	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/rootfs"
	"golang.org/x/sys/unix"
)

// TestParallelLayersWithLowerDependencies builds layers in parallel where
// upper layers need their lowers: a hardlink to a lower file, and parents
// the upper layer does not list. The mounted overlay must equal the flat
// unpack.
func TestParallelLayersWithLowerDependencies(t *testing.T) {
	testutil.RequireRoot(t)
	// Layer 1 is big, so the upper layers surely start before it ends.
	big := bytes.Repeat([]byte("0123456789abcdef"), 4<<20)
	l1 := testutil.Layer(t, []testutil.Entry{
		{Type: tar.TypeDir, Name: "lib/", Mode: 0o700, UID: 5, GID: 6},
		{Type: tar.TypeReg, Name: "lib/big", Mode: 0o644, Content: big},
		{Type: tar.TypeReg, Name: "lib/x", Mode: 0o644, Content: []byte("x")},
		{Type: tar.TypeDir, Name: "usr/", Mode: 0o755},
		{Type: tar.TypeDir, Name: "usr/lib/", Mode: 0o755},
		{Type: tar.TypeSymlink, Name: "lib64", Linkname: "usr/lib", Mode: 0o777},
		{Type: tar.TypeReg, Name: "usr/lib/libc.so", Mode: 0o755, Content: []byte("libc")},
	})
	l2 := testutil.Layer(t, []testutil.Entry{
		{Type: tar.TypeReg, Name: "etc-file", Mode: 0o600, Content: []byte("two")},
	})
	l3 := testutil.Layer(t, []testutil.Entry{
		{Type: tar.TypeLink, Name: "hard-to-lower", Linkname: "lib/x"},
		{Type: tar.TypeReg, Name: "lib/y", Mode: 0o644, Content: []byte("y")},         // parent lib/ not listed
		{Type: tar.TypeReg, Name: "lib64/libm.so", Mode: 0o755, Content: []byte("m")}, // through a lower symlink
	})
	st, err := content.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img := testimage.Store(t, st, "example.com/deps:1", [][]byte{l1, l2, l3})
	sn, _ := New(st)
	ctx := context.Background()
	res, err := sn.Prepare(ctx, img, PrepareOptions{Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Built != 3 {
		t.Fatalf("built %d snapshots, want 3", res.Built)
	}
	flat := filepath.Join(t.TempDir(), "flat")
	if _, err := rootfs.Flatten(ctx, st, img, flat, rootfs.Options{}); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	m := overlayMount(res.Dirs, "", "")
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, strings.Join(m.Options, ",")); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	testutil.AssertSameTree(t, flat, mnt, testutil.TreeOptions{IgnoreXattrs: []string{"trusted.overlay."}})
}
