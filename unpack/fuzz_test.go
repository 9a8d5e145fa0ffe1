package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// fuzzLayer turns fuzzer bytes into a tar stream: each 3-byte group picks
// an entry type, a name and a link target from pieces that make breakouts
// likely (.., /, symlinks, whiteouts, the sentinel's absolute path).
// A stream starting with 0xff is used as a raw tar stream instead.
func fuzzLayer(data []byte, out string) []byte {
	if len(data) > 0 && data[0] == 0xff {
		return data[1:]
	}
	parts := []string{"a", "b", "l", "..", ".", "", out, "/", ".wh.a", ".wh..wh..opq", ".wh..", "secret", "sub", "link"}
	types := []byte{tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo, tar.TypeChar}
	pick := func(b byte) string {
		var p []string
		for i := 0; i < 1+int(b>>6); i++ {
			p = append(p, parts[int(b+byte(i)*7)%len(parts)])
		}
		return strings.Join(p, "/")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+2 < len(data) && i < 3*64; i += 3 {
		h := &tar.Header{
			Typeflag: types[int(data[i])%len(types)], Name: pick(data[i+1]), Linkname: pick(data[i+2]),
			Mode: int64(data[i]) << 4 & 0o7777, Format: tar.FormatPAX,
		}
		var body []byte
		if h.Typeflag == tar.TypeReg {
			body = []byte("pwned")
			h.Size = int64(len(body))
		}
		if tw.WriteHeader(h) != nil {
			continue
		}
		tw.Write(body)
	}
	tw.Close()
	return buf.Bytes()
}

func FuzzApply(f *testing.F) {
	f.Add([]byte{2, 2, 6, 0, 66, 0})
	f.Add([]byte{2, 1, 6, 1, 2, 0, 0, 130, 11})
	f.Add([]byte{3, 1, 198, 0, 76, 0})
	f.Add([]byte{1, 2, 0, 0, 138, 0, 0, 72, 0})
	f.Add(append([]byte{0xff}, testutil.Layer(f, []testutil.Entry{testutil.Symlink("l", "/"), testutil.File("l/x", "x")})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		out, target := filepath.Join(base, "outside"), filepath.Join(base, "root")
		sentinel(t, out)
		if err := os.Mkdir(target, 0o755); err != nil {
			t.Fatal(err)
		}
		before := testutil.Tree(t, out, testutil.TreeOptions{MTime: true})
		layer := fuzzLayer(data, out)
		for _, mode := range []Mode{Flat, Overlay} {
			Apply(context.Background(), target, bytes.NewReader(layer), Options{Mode: mode, Rootless: os.Geteuid() != 0})
		}
		if diffs := testutil.DiffTrees(before, testutil.Tree(t, out, testutil.TreeOptions{MTime: true})); len(diffs) > 0 {
			t.Fatalf("sentinel changed: %v", diffs)
		}
		if ents, _ := os.ReadDir(base); len(ents) != 2 {
			t.Fatalf("entries beside the target: %v", ents)
		}
	})
}
