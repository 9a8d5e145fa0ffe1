package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestLayerRules runs the rules of image-spec layer.md through both the
// Flat unpack and Overlay snapshots mounted with overlayfs, and checks each
// against the tree the rules say a runtime must see.
func TestLayerRules(t *testing.T) {
	testutil.RequireRoot(t)
	F, D, S, H := testutil.File, testutil.Dir, testutil.Symlink, testutil.Hardlink
	dirMode := func(name string, mode int64) testutil.Entry {
		return testutil.Entry{Type: tar.TypeDir, Name: name, Mode: mode}
	}
	tests := []struct {
		name   string
		layers [][]testutil.Entry
		want   []string // path kind[:content|target|mode][=hardlink group]
	}{
		{"whiteout then a new dir of the same name (rm -rf /test && mkdir /test)", [][]testutil.Entry{
			{D("test"), F("test/hello.txt", "old"), D("test/sub"), F("test/sub/x", "x")},
			{F(".wh.test", ""), D("test"), F("test/hello2.txt", "hi")},
		}, []string{"test d:755", "test/hello2.txt f:hi"}},
		{"new dir, then its whiteout later in the same layer", [][]testutil.Entry{
			{D("test"), F("test/hello.txt", "old")},
			{D("test"), F("test/hello2.txt", "hi"), F(".wh.test", "")},
		}, []string{"test d:755", "test/hello2.txt f:hi"}},
		{"whiteout then a file below, parent not listed", [][]testutil.Entry{
			{D("test"), F("test/hello.txt", "old")},
			{F(".wh.test", ""), F("test/hello2.txt", "hi")},
		}, []string{"test d:755", "test/hello2.txt f:hi"}},
		{"whiteout after a same-layer file keeps the file", [][]testutil.Entry{
			{F("a", "old")},
			{F("a", "new"), F(".wh.a", "")},
		}, []string{"a f:new"}},
		{"opaque marker after a same-layer entry", [][]testutil.Entry{
			{D("d"), F("d/a", "a")},
			{D("d"), F("d/b", "b"), F("d/.wh..wh..opq", "")},
		}, []string{"d d:755", "d/b f:b"}},
		{"opaque marker before a same-layer entry", [][]testutil.Entry{
			{D("d"), F("d/a", "a")},
			{D("d"), F("d/.wh..wh..opq", ""), F("d/b", "b")},
		}, []string{"d d:755", "d/b f:b"}},
		{"dir over dir keeps children, takes the new attributes", [][]testutil.Entry{
			{D("d"), F("d/a", "a")},
			{dirMode("d", 0o700)},
		}, []string{"d d:700", "d/a f:a"}},
		{"file replaced by a dir", [][]testutil.Entry{
			{F("x", "file")},
			{D("x"), F("x/y", "y")},
		}, []string{"x d:755", "x/y f:y"}},
		{"dir replaced by a file", [][]testutil.Entry{
			{D("x"), F("x/y", "y")},
			{F("x", "now a file")},
		}, []string{"x f:now a file"}},
		{"symlink replaced by a dir: the old link is not followed", [][]testutil.Entry{
			{D("real"), F("real/a", "a"), S("link", "real")},
			{D("link"), F("link/b", "b")},
		}, []string{"link d:755", "link/b f:b", "real d:755", "real/a f:a"}},
		{"implicit parents", [][]testutil.Entry{
			{F("other", "o")},
			{F("a/b/c", "c")},
		}, []string{"a d:755", "a/b d:755", "a/b/c f:c", "other f:o"}},
		{"hardlink to a lower layer's file", [][]testutil.Entry{
			{F("a", "data")},
			{H("b", "a")},
		}, []string{"a f:data=b", "b f:data=a"}},
		{"hardlinked file replaced in a later layer", [][]testutil.Entry{
			{F("a", "old"), H("b", "a")},
			{F("a", "new")},
		}, []string{"a f:new", "b f:old"}},
		{"whiteout of a hardlink target", [][]testutil.Entry{
			{F("a", "data"), H("b", "a")},
			{F(".wh.a", "")},
		}, []string{"b f:data"}},
		{"duplicate entries in one layer: the last wins", [][]testutil.Entry{
			{F("a", "one"), F("a", "two"), D("b"), F("b", "file now")},
		}, []string{"a f:two", "b f:file now"}},
		{"opaque marker at the layer root hides every lower entry", [][]testutil.Entry{
			{D("d"), F("d/a", "a"), F("top", "t")},
			{F("b", "b")},
			{F(".wh..wh..opq", ""), F("c", "c"), D("d"), F("d/e", "e")},
		}, []string{"c f:c", "d d:755", "d/e f:e"}},
		{"opaque layer root: a later parent takes nothing from below it", [][]testutil.Entry{
			{dirMode("x", 0o700), F("x/old", "o")},
			{F(".wh..wh..opq", ""), F("b", "b")},
			{F("x/y", "y")},
		}, []string{"b f:b", "x d:755", "x/y f:y"}},
		{"whiteout of something absent", [][]testutil.Entry{
			{D("d"), F("d/a", "a")},
			{F(".wh.nothing", ""), F("d/.wh.nothing", "")},
		}, []string{"d d:755", "d/a f:a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flat, merged := applyBothWays(t, tt.layers)
			want := strings.Join(tt.want, "\n")
			if got := describe(t, flat); got != want {
				t.Errorf("flat unpack:\n%s\nwant:\n%s", got, want)
			}
			if got := describe(t, merged); got != want {
				t.Errorf("overlay snapshots, mounted:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// applyBothWays applies layers into one Flat directory and into Overlay
// layer directories mounted read-only with overlayfs; it returns both.
func applyBothWays(t *testing.T, layers [][]testutil.Entry) (flat, merged string) {
	t.Helper()
	ctx := context.Background()
	// overlayfs options are comma-separated: keep the test's name (which
	// may hold commas) out of the layer paths.
	base, err := os.MkdirTemp("", "layer-rules-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	flat = filepath.Join(base, "flat")
	os.Mkdir(flat, 0o755)
	var lowers []string
	for i, es := range layers {
		raw := testutil.Layer(t, es)
		if _, err := Apply(ctx, flat, bytes.NewReader(raw), Options{}); err != nil {
			t.Fatalf("flat layer %d: %v", i, err)
		}
		dir := filepath.Join(base, fmt.Sprintf("l%d", i))
		os.Mkdir(dir, 0o755)
		if _, err := Apply(ctx, dir, bytes.NewReader(raw), Options{Mode: Overlay, Lowers: lowers}); err != nil {
			t.Fatalf("overlay layer %d: %v", i, err)
		}
		lowers = append([]string{dir}, lowers...)
	}
	lowers = reversed(VisibleLayers(reversed(lowers)))
	if len(lowers) == 1 { // overlayfs wants two layers at least
		empty := filepath.Join(base, "empty")
		os.Mkdir(empty, 0o755)
		lowers = append(lowers, empty)
	}
	merged = filepath.Join(base, "merged")
	os.Mkdir(merged, 0o755)
	if err := unix.Mount("overlay", merged, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(lowers, ":")); err != nil {
		t.Fatalf("mount overlayfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	return flat, merged
}

// describe lists dir's entries, one line each, sorted: the path, then
// d:MODE, f:CONTENT or l:TARGET, and =OTHER for the other names of a
// hardlinked file.
func describe(t *testing.T, dir string) string {
	t.Helper()
	tree := testutil.Tree(t, dir, testutil.TreeOptions{IgnoreXattrs: []string{"trusted.overlay."}})
	var lines []string
	for p, n := range tree {
		var s string
		switch n.Type {
		case 'd':
			s = fmt.Sprintf("d:%o", n.Mode)
		case 'f':
			b, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			s = "f:" + string(b)
		case 'l':
			s = "l:" + n.Link
		default:
			s = string(n.Type)
		}
		if len(n.Group) > 0 {
			s += "=" + strings.Join(n.Group, ",")
		}
		lines = append(lines, p+" "+s)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// reversed returns dirs in the opposite order (overlayfs lists the
// top-most layer first, VisibleLayers the bottom-most).
func reversed(dirs []string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[len(dirs)-1-i] = d
	}
	return out
}
