package unpack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestOverlayMatchesFlat unpacks the Debian image layer by layer in
// Overlay mode, mounts the layer directories with overlayfs and compares
// the merged tree with the Flat unpack.
func TestOverlayMatchesFlat(t *testing.T) {
	testutil.RequireRoot(t)
	img := ociImage(t, testutil.CorpusFile(t, "debian-bookworm-2layer-oci"))
	flat := t.TempDir()
	applyImage(t, img, flat, Options{})

	base := t.TempDir()
	var lowers []string // top-most first
	for i, l := range img.layers {
		dir := filepath.Join(base, "layer"+string(rune('0'+i)))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(l.path)
		if err != nil {
			t.Fatal(err)
		}
		d, st, err := ApplyLayer(context.Background(), dir, f, l.mediaType, Options{Mode: Overlay, Lowers: lowers})
		f.Close()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		if d != l.diffID {
			t.Errorf("layer %d: diffID %s, want %s", i, d, l.diffID)
		}
		t.Logf("layer %d: %+v", i, st)
		lowers = append([]string{dir}, lowers...)
	}
	// The upper layer holds the whiteouts and the opaque marker.
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(lowers[0], "etc/motd"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("etc/motd in the upper layer is not a whiteout: %o %v", st.Mode, err)
	}
	mnt := filepath.Join(base, "merged")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := "lowerdir=" + strings.Join(lowers, ":")
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, opts); err != nil {
		t.Skipf("overlayfs mount: %v", err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	testutil.AssertSameTree(t, flat, mnt, testutil.TreeOptions{MTime: true, IgnoreXattrs: []string{"trusted.overlay."}})
}

// TestOverlayHardlinkToLower checks that a hardlink to a file of a lower
// layer copies the file up and that parents this layer lacks get the lower
// layer's metadata.
func TestOverlayHardlinkToLower(t *testing.T) {
	testutil.RequireRoot(t)
	lower, upper := t.TempDir(), t.TempDir()
	ctx := context.Background()
	low := testutil.Layer(t, []testutil.Entry{
		{Type: '5', Name: "usr", Mode: 0o751, UID: 7, GID: 8},
		{Name: "usr/bin", Type: '5', Mode: 0o755},
		{Name: "usr/bin/tool", Content: []byte("tool"), Mode: 0o4755, UID: 3, GID: 4, Xattrs: map[string]string{"user.k": "v"}},
	})
	if _, err := Apply(ctx, lower, bytes.NewReader(low), Options{Mode: Overlay}); err != nil {
		t.Fatal(err)
	}
	up := testutil.Layer(t, []testutil.Entry{testutil.Hardlink("usr/bin/alias", "usr/bin/tool")})
	st, err := Apply(ctx, upper, bytes.NewReader(up), Options{Mode: Overlay, Lowers: []string{lower}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Hardlinks != 1 {
		t.Errorf("stats %+v", st)
	}
	want := testutil.Tree(t, lower, testutil.TreeOptions{})
	got := testutil.Tree(t, upper, testutil.TreeOptions{})
	for _, p := range []string{"usr", "usr/bin"} {
		w, g := want[p], got[p]
		if w.Mode != g.Mode || w.UID != g.UID || w.GID != g.GID {
			t.Errorf("%s: upper %+v, lower %+v", p, g, w)
		}
	}
	tool, alias := got["usr/bin/tool"], got["usr/bin/alias"]
	w := want["usr/bin/tool"]
	if tool.SHA256 != w.SHA256 || tool.Mode != w.Mode || tool.UID != 3 || tool.Xattrs["user.k"] != "v" {
		t.Errorf("copied up %+v, lower %+v", tool, w)
	}
	if len(alias.Group) != 1 || alias.Group[0] != "usr/bin/tool" {
		t.Errorf("alias not linked to the copied-up tool: %+v", alias)
	}
}
