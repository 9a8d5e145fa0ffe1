package main

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShapes checks the layer count and content of the issue-17 shapes at
// a small scale: tiny files of 0-2 KB, the one big file, and busybox with
// one-file layers on top (not scaled).
func TestShapes(t *testing.T) {
	bb := filepath.Join(t.TempDir(), "busybox")
	if err := os.WriteFile(bb, []byte("#!fake busybox\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		shape   string
		layers  int
		files   int // regular files over all layers
		check   string
		maxSize int64 // largest regular file
	}{
		{"small", 1, 300, "usr/share/tiny/d000/f000000.txt", 2048},
		{"big", 1, 1, "opt/big.bin", 1_500_000},
		{"layers:5", 5, 5, "bin/busybox", 0},
		{"layers:1", 1, 1, "bin/true", 0},
	}
	for _, tt := range tests {
		t.Run(tt.shape, func(t *testing.T) {
			sh, err := shapeByName(tt.shape, bb)
			if err != nil {
				t.Fatal(err)
			}
			set, _, err := loadOrGenerate(context.Background(), sh, 1, 0.001, t.TempDir(), 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(set.Layers) != tt.layers {
				t.Fatalf("layers = %d, want %d", len(set.Layers), tt.layers)
			}
			files, found := 0, false
			var largest int64
			for _, l := range set.Layers {
				for _, h := range readHeaders(t, filepath.Join(set.dir, l.Zstd.File)) {
					if h.Typeflag == tar.TypeReg && !strings.Contains(h.Name, ".wh.") {
						files++
						largest = max(largest, h.Size)
					}
					found = found || h.Name == tt.check
					if h.Name == "bin/busybox" && h.Mode != 0o755 {
						t.Errorf("bin/busybox mode %o", h.Mode)
					}
					if h.Name == "bin/true" && (h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox") {
						t.Errorf("bin/true: type %c -> %q", h.Typeflag, h.Linkname)
					}
				}
			}
			if files != tt.files || !found {
				t.Errorf("%d regular files (want %d), %s found: %v", files, tt.files, tt.check, found)
			}
			if tt.maxSize > 0 && (largest > tt.maxSize || tt.shape == "big" && largest != tt.maxSize) {
				t.Errorf("largest file %d bytes, want at most %d", largest, tt.maxSize)
			}
		})
	}
	if _, err := shapeByName("layers:0", bb); err == nil {
		t.Error("layers:0 accepted")
	}
}
