package main

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestGenerateIsReproducibleAndCached(t *testing.T) {
	ctx := context.Background()
	a, cached, err := loadOrGenerate(ctx, largeShape(), 7, 0.005, t.TempDir(), 2)
	if err != nil || cached {
		t.Fatalf("first generation: cached=%v err=%v", cached, err)
	}
	cacheB := t.TempDir()
	b, _, err := loadOrGenerate(ctx, largeShape(), 7, 0.005, cacheB, 1)
	if err != nil {
		t.Fatal(err)
	}
	c, cached, err := loadOrGenerate(ctx, largeShape(), 7, 0.005, cacheB, 1)
	if err != nil || !cached {
		t.Fatalf("second load: cached=%v err=%v", cached, err)
	}
	other, _, err := loadOrGenerate(ctx, largeShape(), 8, 0.005, t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Layers) != 6 {
		t.Fatalf("layers = %d, want 6", len(a.Layers))
	}
	for i := range a.Layers {
		if a.Layers[i] != b.Layers[i] || b.Layers[i] != c.Layers[i] {
			t.Errorf("layer %d differs between runs with one seed:\n%+v\n%+v", i+1, a.Layers[i], b.Layers[i])
		}
		if a.Layers[i].DiffID == other.Layers[i].DiffID {
			t.Errorf("layer %d is the same for seeds 7 and 8", i+1)
		}
	}
}

// TestLayerChanges checks that the later layers delete, overwrite and
// hide files of earlier ones, as the benchmark relies on.
func TestLayerChanges(t *testing.T) {
	set, _, err := loadOrGenerate(context.Background(), largeShape(), 1, 0.005, t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]map[string]byte, len(set.Layers))
	for i, l := range set.Layers {
		names[i] = readNames(t, filepath.Join(set.dir, l.Zstd.File))
	}
	tests := []struct {
		layer int
		name  string
		typ   byte
		in    int // the layer the name refers to, 0 for none
	}{
		{3, "opt/blob/.wh.l2-00.bin", tar.TypeReg, 2},
		{3, "usr/share/bench/l1/.wh.d07", tar.TypeReg, 1},
		{3, "opt/blob/l1-00.bin", tar.TypeReg, 1},
		{5, "var/cache/app/.wh..wh..opq", tar.TypeReg, 0},
		{5, "usr/share/bench/l2/d01/f00001.txt", tar.TypeReg, 2},
		{6, "opt/text/.wh.l4-00.txt", tar.TypeReg, 4},
		{6, "usr/lib/app-hardlink.so.1", tar.TypeLink, 0},
		{6, "usr/lib/app.so", tar.TypeSymlink, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, ok := names[tt.layer-1][tt.name]
			if !ok || typ != tt.typ {
				t.Fatalf("layer %d: %s missing or of type %c", tt.layer, tt.name, typ)
			}
			if tt.in > 0 {
				target := tt.name
				if dir, base := filepath.Split(tt.name); len(base) > 4 && base[:4] == ".wh." {
					target = dir + base[4:]
				}
				_, file := names[tt.in-1][target]
				_, dir := names[tt.in-1][target+"/"]
				if !file && !dir {
					t.Errorf("layer %d has no %s to change", tt.in, target)
				}
			}
		})
	}
}

func readNames(t *testing.T, file string) map[string]byte {
	t.Helper()
	out := map[string]byte{}
	for _, h := range readHeaders(t, file) {
		out[h.Name] = h.Typeflag
	}
	return out
}

func readHeaders(t *testing.T, file string) []*tar.Header {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out []*tar.Header
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
}
