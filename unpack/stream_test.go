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

// TestStreamingMemory applies a layer produced on the fly and checks the
// Go runtime did not grow by anything near the layer's size: layers are
// streamed, never buffered. `make test` writes 256 MiB (about 1.5 s; four
// times the 64 MiB it allows, so buffering still fails it); `make stress`
// (CTRLITE_STRESS=1) writes 1 GiB, which took 6 s on the 2-core CI machine.
func TestStreamingMemory(t *testing.T) {
	size := 256 << 20
	if os.Getenv("CTRLITE_STRESS") != "" {
		size = 1 << 30
	}
	if testing.Short() {
		t.Skipf("writes %d MiB", size>>20)
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		if err := tw.WriteHeader(&tar.Header{Name: "big", Size: int64(size), Mode: 0o644}); err != nil {
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
	if st.Bytes != int64(size) {
		t.Errorf("wrote %d bytes", st.Bytes)
	}
	fi, err := os.Stat(filepath.Join(dir, "big"))
	if err != nil || fi.Size() != int64(size) {
		t.Fatalf("big: %v %v", fi, err)
	}
	if grown := int64(after.Sys) - int64(before.Sys); grown > 64<<20 {
		t.Errorf("runtime memory grew by %d MiB for a %d MiB layer", grown>>20, size>>20)
	}
	t.Logf("runtime Sys %d -> %d MiB, TotalAlloc %d MiB", before.Sys>>20, after.Sys>>20, (after.TotalAlloc-before.TotalAlloc)>>20)
}
