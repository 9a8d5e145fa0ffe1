package registry

import (
	"io"
	"testing"
)

// BenchmarkFetch streams a 32 MiB blob from ggcr's in-memory registry over
// loopback: the client's own overhead (auth transport, limits, watchdog).
func BenchmarkFetch(b *testing.B) {
	m := startMemB(b)
	img := randomImage(b, 1, 32<<20)
	m.push(b, "bench/blob:v1", img)
	desc := layerDesc(b, img, 0)
	c := testClient(b, Options{})
	ref := m.ref(b, "bench/blob:v1")
	b.SetBytes(desc.Size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rc, _, err := c.Fetch(testCtx(b), ref, desc, 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

// BenchmarkResolve measures one manifest round trip (the whole cost of
// re-pulling an unchanged image).
func BenchmarkResolve(b *testing.B) {
	m := startMemB(b)
	m.push(b, "bench/small:v1", randomImage(b, 2, 1000))
	c := testClient(b, Options{})
	ref := m.ref(b, "bench/small:v1")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := c.Resolve(testCtx(b), ref); err != nil {
			b.Fatal(err)
		}
	}
}
