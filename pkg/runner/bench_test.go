package runner

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// BenchmarkRunTrue is the warm start of `true` in a prepared busybox rootfs.
func BenchmarkRunTrue(b *testing.B) {
	testutil.RequireRoot(b)
	root, img := busybox(b)
	s, err := rspec.Build(img, root, rspec.Options{Args: []string{"true"}})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		code, err := Run(context.Background(), Config{ID: "bench", Spec: s, StateDir: dir}, Stdio{Out: io.Discard, Err: benchErr()})
		if err != nil || code != 0 {
			b.Fatalf("run: %d %v", code, err)
		}
	}
}

// BenchmarkSealedExe is the per-process cost of the sealed memfd copy of
// the binary (paid once by each ctr-lite run).
func BenchmarkSealedExe(b *testing.B) {
	for b.Loop() {
		f, err := makeSealedExe()
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// benchErr shows the container's stderr (and the child's trace) when
// CTRLITE_RUNNER_TRACE=1.
func benchErr() io.Writer {
	if os.Getenv("CTRLITE_RUNNER_TRACE") == "1" {
		return os.Stderr
	}
	return io.Discard
}

// BenchmarkOverlayExe is the same cost with the read-only overlayfs way.
func BenchmarkOverlayExe(b *testing.B) {
	testutil.RequireRoot(b)
	for b.Loop() {
		f, err := overlayExe()
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
