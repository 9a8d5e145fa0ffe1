package unpack

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestStreamingMemory applies a 1 GiB layer produced on the fly and checks
// the Go runtime did not grow by anything near the layer's size: layers
// are streamed, never buffered.
func TestStreamingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1 GiB")
	}
	const size = 1 << 30
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		if err := tw.WriteHeader(&tar.Header{Name: "big", Size: size, Mode: 0o644}); err != nil {
			pw.CloseWithError(err)
			return
		}
		block := make([]byte, 1<<20)
		for i := range block {
			block[i] = byte(i*7 + i>>8)
		}
		for n := 0; n < size; n += len(block) {
			if _, err := tw.Write(block); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	dir := t.TempDir()
	_, st, err := ApplyLayer(context.Background(), dir, pr, "application/vnd.oci.image.layer.v1.tar", Options{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if st.Bytes != size {
		t.Errorf("wrote %d bytes", st.Bytes)
	}
	fi, err := os.Stat(filepath.Join(dir, "big"))
	if err != nil || fi.Size() != size {
		t.Fatalf("big: %v %v", fi, err)
	}
	if grown := int64(after.Sys) - int64(before.Sys); grown > 64<<20 {
		t.Errorf("runtime memory grew by %d MiB for a 1 GiB layer", grown>>20)
	}
	t.Logf("runtime Sys %d -> %d MiB, TotalAlloc %d MiB", before.Sys>>20, after.Sys>>20, (after.TotalAlloc-before.TotalAlloc)>>20)
}
