package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// TestFaithful checks that every kind of entry comes out as the tar says.
func TestFaithful(t *testing.T) {
	testutil.RequireRoot(t)
	mt := time.Unix(1600000000, 123456789)
	capV := string([]byte{1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	layer := testutil.Layer(t, []testutil.Entry{
		{Type: tar.TypeDir, Name: "d", Mode: 0o1777, UID: 10, GID: 20, ModTime: mt},
		{Name: "d/f", Content: []byte("hello"), Mode: 0o6750, UID: 1000, GID: 1001, ModTime: mt, Xattrs: map[string]string{"user.a": "b", "security.capability": capV}},
		{Type: tar.TypeSymlink, Name: "d/s", Linkname: "/nowhere", UID: 5, GID: 6, ModTime: mt},
		{Type: tar.TypeLink, Name: "d/h", Linkname: "d/f"},
		{Type: tar.TypeFifo, Name: "d/p", Mode: 0o600, ModTime: mt},
		{Type: tar.TypeChar, Name: "d/null", Mode: 0o666, DevMajor: 1, DevMinor: 3},
		{Type: tar.TypeBlock, Name: "d/blk", Mode: 0o660, DevMajor: 7, DevMinor: 0},
		{Name: "deep/implicit/parent/f", Content: []byte("x")},
		{Name: "o/" + string(bytes.Repeat([]byte("n"), 200)) + "/long", Content: []byte("long"), Format: tar.FormatGNU},
	})
	dir := t.TempDir()
	st, err := Apply(context.Background(), dir, bytes.NewReader(layer), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Entries: 9, Files: 6, Dirs: 1, Symlinks: 1, Hardlinks: 1, Bytes: 10}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	tree := testutil.Tree(t, dir, testutil.TreeOptions{MTime: true})
	check := func(p string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: %+v", p, tree[p])
		}
	}
	n := tree["d"]
	check("d", n.Type == 'd' && n.Mode == 0o1777 && n.UID == 10 && n.GID == 20)
	n = tree["d/f"]
	check("d/f", n.Type == 'f' && n.Mode == 0o6750 && n.UID == 1000 && n.GID == 1001 && n.MTime == mt.UnixNano() &&
		n.Xattrs["user.a"] == "b" && n.Xattrs["security.capability"] == capV && len(n.Group) == 1 && n.Group[0] == "d/h")
	n = tree["d/s"]
	check("d/s", n.Type == 'l' && n.Link == "/nowhere" && n.UID == 5 && n.GID == 6 && n.MTime == mt.UnixNano())
	check("d/p", tree["d/p"].Type == 'p' && tree["d/p"].Mode == 0o600)
	check("d/null", tree["d/null"].Type == 'c' && tree["d/null"].Rdev == unix.Mkdev(1, 3) && tree["d/null"].Mode == 0o666)
	check("d/blk", tree["d/blk"].Type == 'b' && tree["d/blk"].Rdev == unix.Mkdev(7, 0))
	check("deep/implicit/parent/f", tree["deep/implicit/parent"].Type == 'd' && tree["deep/implicit/parent/f"].Size == 1)
	fi, err := os.Stat(filepath.Join(dir, "d"))
	if err != nil || !fi.ModTime().Equal(mt) {
		t.Errorf("directory mtime %v (set after its contents), want %v", fi.ModTime(), mt)
	}
}

// TestSparse checks a GNU sparse file keeps its content and its holes.
func TestSparse(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("head"), 0)
	f.WriteAt([]byte("tail"), 64<<20)
	f.Close()
	tarFile := filepath.Join(t.TempDir(), "l.tar")
	if out, err := runCmd("tar", "--sparse", "-cf", tarFile, "-C", filepath.Dir(src), "sparse"); err != nil {
		testutil.Skipf(t, "GNU tar --sparse: %v %s", err, out)
	}
	r, err := os.Open(tarFile)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := Apply(context.Background(), dir, r, Options{}); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "sparse"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != 64<<20+4 || st.Blocks*512 > 1<<20 {
		t.Errorf("size %d, allocated %d bytes: want a sparse file", st.Size, st.Blocks*512)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "sparse"))
	if string(b[:4]) != "head" || string(b[64<<20:]) != "tail" {
		t.Errorf("sparse content wrong")
	}
}

// TestRootless checks device nodes are skipped and reported, and files
// are owned by the caller.
func TestRootless(t *testing.T) {
	dir := t.TempDir()
	var skipped []string
	layer := testutil.Layer(t, []testutil.Entry{
		{Type: tar.TypeChar, Name: "dev/null", DevMajor: 1, DevMinor: 3},
		{Name: "f", UID: 4242, GID: 4242, Content: []byte("x")},
		{Name: "d/.wh..wh..opq"},
	})
	_, err := Apply(context.Background(), dir, bytes.NewReader(layer), Options{Mode: Overlay, Rootless: true, Skipped: func(s Skip) {
		if s.Kind != SkipOwner {
			skipped = append(skipped, s.Path)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 1 || skipped[0] != "dev/null" {
		t.Errorf("skipped %v", skipped)
	}
	if _, err := os.Lstat(filepath.Join(dir, "dev/null")); err == nil {
		t.Errorf("device node created")
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "f"), &st); err != nil || int(st.Uid) != os.Geteuid() {
		t.Errorf("owner %d, %v", st.Uid, err)
	}
	v := make([]byte, 4)
	if n, err := unix.Getxattr(filepath.Join(dir, "d"), "user.overlay.opaque", v); err != nil || string(v[:n]) != "y" {
		t.Errorf("user.overlay.opaque: %v", err)
	}
}

// TestApplyLayerCompression checks gzip, zstd and plain layers apply and
// return the sha256 of the uncompressed stream, including trailing bytes
// after the tar end marker.
func TestApplyLayerCompression(t *testing.T) {
	raw := testutil.Layer(t, []testutil.Entry{testutil.File("a", "b")})
	raw = append(raw, make([]byte, 4096)...) // padding after the end marker
	want := digest.FromBytes(raw)
	for _, c := range []struct {
		name, mediaType string
		data            []byte
	}{
		{"plain", "application/vnd.oci.image.layer.v1.tar", raw},
		{"gzip", "application/vnd.oci.image.layer.v1.tar+gzip", testutil.Gzip(t, raw)},
		{"zstd", "application/vnd.oci.image.layer.v1.tar+zstd", testutil.Zstd(t, raw)},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			d, st, err := ApplyLayer(context.Background(), dir, bytes.NewReader(c.data), c.mediaType, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d != want || st.Files != 1 {
				t.Errorf("diffID %s stats %+v, want %s", d, st, want)
			}
		})
	}
	_, _, err := ApplyLayer(context.Background(), t.TempDir(), bytes.NewReader(raw), "application/vnd.oci.image.layer.v1.tar+gzip", Options{})
	if err == nil {
		t.Errorf("plain bytes accepted as gzip")
	}
}

// TestTruncatedLayer checks a layer cut in the middle of a file fails.
func TestTruncatedLayer(t *testing.T) {
	raw := testutil.Layer(t, []testutil.Entry{testutil.File("a", string(bytes.Repeat([]byte("x"), 10000)))})
	_, err := Apply(context.Background(), t.TempDir(), bytes.NewReader(raw[:2000]), Options{})
	if err == nil {
		t.Fatal("truncated layer applied")
	}
}

// TestCancel checks Apply stops when its context is done.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	raw := testutil.Layer(t, []testutil.Entry{testutil.File("a", "b")})
	if _, err := Apply(ctx, t.TempDir(), bytes.NewReader(raw), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
}

// TestOverlayXattrsReported checks overlayfs xattrs in a layer are not
// applied, in any mode, and each is reported through Skipped.
func TestOverlayXattrsReported(t *testing.T) {
	layer := testutil.Layer(t, []testutil.Entry{{Name: "f", Content: []byte("x"),
		Xattrs: map[string]string{"trusted.overlay.redirect": "/x", "user.overlay.opaque": "y"}}})
	for _, mode := range []Mode{Flat, Overlay} {
		var skipped []string
		dir := t.TempDir()
		_, err := Apply(context.Background(), dir, bytes.NewReader(layer), Options{Mode: mode, Skipped: func(s Skip) { skipped = append(skipped, s.Kind+" "+s.Detail) }})
		if err != nil {
			t.Fatal(err)
		}
		if len(skipped) != 2 || !strings.Contains(strings.Join(skipped, "\n"), "xattr trusted.overlay.redirect") {
			t.Errorf("mode %d: skipped %q", mode, skipped)
		}
		if _, err := unix.Lgetxattr(filepath.Join(dir, "f"), "user.overlay.opaque", nil); err != unix.ENODATA {
			t.Errorf("mode %d: user.overlay.opaque applied (%v)", mode, err)
		}
	}
}
