package archive

import (
	"context"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// countLayers follows an index to its first manifest and counts layers.
func countLayers(t *testing.T, s *content.Store, d ocispec.Descriptor) int {
	t.Helper()
	for {
		data, err := s.ReadBlob(context.Background(), d, mediatype.MaxManifestSize)
		if err != nil {
			t.Fatal(err)
		}
		kids, err := content.Children(d, data)
		if err != nil {
			t.Fatal(err)
		}
		if mediatype.IsIndex(d.MediaType) {
			d = kids[0]
			continue
		}
		return len(kids) - 1
	}
}
