package image

import (
	"errors"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		name, mediaType, body string
		kind                  Kind
		err                   error
	}{
		{"oci index by header", ocispec.MediaTypeImageIndex, `{"schemaVersion":2,"manifests":[]}`, KindIndex, nil},
		{"docker list by body", "", `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}`, KindIndex, nil},
		{"docker manifest", "application/vnd.docker.distribution.manifest.v2+json", `{"schemaVersion":2,"layers":[]}`, KindManifest, nil},
		{"oci manifest, no media type anywhere", "", `{"schemaVersion":2,"config":{},"layers":[]}`, KindManifest, nil},
		{"oci index, no media type anywhere", "", `{"schemaVersion":2,"manifests":[]}`, KindIndex, nil},
		{"body's media type wins", ocispec.MediaTypeImageManifest, `{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`, KindIndex, nil},
		{"schema 1 signed", "application/vnd.docker.distribution.manifest.v1+prettyjws", `{"schemaVersion":1,"fsLayers":[]}`, 0, errdefs.ErrUnsupported},
		{"schema 1 by body", "application/json", `{"schemaVersion":1,"fsLayers":[]}`, 0, errdefs.ErrUnsupported},
		{"something else", "text/html", `{"hello":1}`, 0, errdefs.ErrUnsupported},
		{"not json", ocispec.MediaTypeImageManifest, `<html>`, 0, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, err := KindOf(tt.mediaType, []byte(tt.body))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || kind != tt.kind {
				t.Fatalf("KindOf = %v, %v; want %v", kind, err, tt.kind)
			}
		})
	}
}
