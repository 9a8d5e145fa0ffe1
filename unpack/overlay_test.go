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
	img := ociImage(t, testutil.ImageLayout(t, testutil.Debian))
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
		testutil.Skipf(t, "overlayfs mount: %v", err)
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

// TestOverlaySyntheticMatchesFlat mounts synthetic layers applied in
// Overlay mode and compares the merged view with the Flat result.
func TestOverlaySyntheticMatchesFlat(t *testing.T) {
	testutil.RequireRoot(t)
	F, D, S, H := testutil.File, testutil.Dir, testutil.Symlink, testutil.Hardlink
	cases := []struct {
		name   string
		layers [][]testutil.Entry
	}{
		{"entry below a lower symlink", [][]testutil.Entry{
			{D("usr"), D("usr/lib"), S("lib", "usr/lib"), F("usr/lib/a", "a")},
			{F("lib/b", "b"), F("lib/sub/c", "c")},
		}},
		{"whiteout below a lower symlink", [][]testutil.Entry{
			{D("usr"), D("usr/lib"), S("lib", "/usr/lib"), F("usr/lib/a", "a"), F("usr/lib/b", "b")},
			{F("lib/.wh.a", "")},
		}},
		{"hardlink group across layers", [][]testutil.Entry{
			{F("a/x", "data"), H("a/y", "a/x"), H("b/z", "a/x"), F("other", "o")},
			{H("c/w", "a/y")},
		}},
		{"hardlink to a lower symlink", [][]testutil.Entry{
			{S("s", "/etc/passwd")},
			{H("t", "s")},
		}},
		{"whiteout of a dir with same-layer children", [][]testutil.Entry{
			{D("d"), F("d/old", "o"), D("d/sub"), F("d/sub/x", "x")},
			{F("d/new", "n"), F(".wh.d", "")},
		}},
		{"opaque with replaced subdir", [][]testutil.Entry{
			{D("d"), F("d/a", "a"), D("d/sub"), F("d/sub/x", "x")},
			{F("d/.wh..wh..opq", ""), D("d/sub"), F("d/sub/y", "y")},
		}},
		{"replacements", [][]testutil.Entry{
			{F("f", "f"), D("g"), F("g/x", "x"), S("h", "g")},
			{D("f"), F("f/y", "y"), S("g", "f"), F("h", "now a file")},
		}},
		{"three layers", [][]testutil.Entry{
			{D("etc"), F("etc/motd", "1"), F("etc/keep", "k")},
			{F("etc/.wh.motd", "")},
			{F("etc/motd", "3"), F("etc/.wh.keep", "")},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			flat, base := t.TempDir(), t.TempDir()
			var lowers []string
			for i, es := range c.layers {
				raw := testutil.Layer(t, es)
				if _, err := Apply(ctx, flat, bytes.NewReader(raw), Options{}); err != nil {
					t.Fatalf("flat layer %d: %v", i, err)
				}
				dir := filepath.Join(base, "l"+string(rune('0'+i)))
				os.Mkdir(dir, 0o755)
				if _, err := Apply(ctx, dir, bytes.NewReader(raw), Options{Mode: Overlay, Lowers: lowers}); err != nil {
					t.Fatalf("overlay layer %d: %v", i, err)
				}
				lowers = append([]string{dir}, lowers...)
			}
			mnt := filepath.Join(base, "merged")
			os.Mkdir(mnt, 0o755)
			if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(lowers, ":")); err != nil {
				testutil.Skipf(t, "overlayfs mount: %v", err)
			}
			defer unix.Unmount(mnt, unix.MNT_DETACH)
			testutil.AssertSameTree(t, flat, mnt, testutil.TreeOptions{MTime: true, IgnoreXattrs: []string{"trusted.overlay."}})
		})
	}
}
