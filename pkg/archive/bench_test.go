package archive

import (
	"context"
	"io"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
)

// BenchmarkImportDebian imports the 2-layer Debian layout (49 MB of gzip
// layers) into a fresh store: hashing, copying and fsyncing every blob.
func BenchmarkImportDebian(b *testing.B) {
	src := testutil.ImageLayout(b, testutil.Debian)
	for i := 0; i < b.N; i++ {
		s, err := content.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Import(context.Background(), s, src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExportDebian writes the Debian image as a docker archive.
func BenchmarkExportDebian(b *testing.B) {
	s, err := content.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Import(context.Background(), s, testutil.ImageLayout(b, testutil.Debian)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Export(context.Background(), s, []string{"debian-bookworm-minbase-2layer"}, io.Discard, ExportOptions{Format: "docker"}); err != nil {
			b.Fatal(err)
		}
	}
}
