package mediatype

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestKinds(t *testing.T) {
	tests := []struct {
		mt                       string
		index, manifest, schema1 bool
	}{
		{ocispec.MediaTypeImageIndex, true, false, false},
		{DockerManifestList, true, false, false},
		{ocispec.MediaTypeImageManifest, false, true, false},
		{DockerManifest, false, true, false},
		{DockerSchema1, false, false, true},
		{DockerSchema1Signed, false, false, true},
		{ocispec.MediaTypeImageLayerGzip, false, false, false},
		{"", false, false, false},
	}
	for _, tt := range tests {
		if IsIndex(tt.mt) != tt.index || IsManifest(tt.mt) != tt.manifest || IsSchema1(tt.mt) != tt.schema1 {
			t.Errorf("%q: index %t manifest %t schema1 %t, want %t %t %t", tt.mt,
				IsIndex(tt.mt), IsManifest(tt.mt), IsSchema1(tt.mt), tt.index, tt.manifest, tt.schema1)
		}
	}
}
