package unpack

import (
	"os"
	"testing"
)

// BenchmarkApplyDebian unpacks both layers of the Debian corpus image
// (gzip, 128 MB uncompressed) flat into a fresh directory; MB/s counts
// uncompressed layer bytes.
func BenchmarkApplyDebian(b *testing.B) {
	img := ociImageB(b)
	var size int64
	for b.Loop() {
		b.StopTimer()
		dir, err := os.MkdirTemp("", "bench-unpack-")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		size = 0
		for _, l := range img.layers {
			f, err := os.Open(l.path)
			if err != nil {
				b.Fatal(err)
			}
			_, st, err := ApplyLayer(b.Context(), dir, f, l.mediaType, Options{})
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			size += st.Bytes
		}
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.SetBytes(size)
}
