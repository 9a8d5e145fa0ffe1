package main

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestPushBothVariants(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	set, _, err := loadOrGenerate(ctx, largeShape(), 3, 0.005, t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tag       string
		zstd      bool
		mediaType types.MediaType
	}{
		{"gzip", false, types.OCILayer},
		{"zstd", true, types.OCILayerZStd},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			ref := host + "/bench/large:" + tt.tag
			d, err := push(ctx, set, tt.zstd, ref)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := name.ParseReference(ref, name.Insecure)
			img, err := remote.Image(r)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := img.Digest(); got != d {
				t.Errorf("digest %s, pushed %s", got, d)
			}
			if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
				t.Errorf("manifest media type %s", mt)
			}
			layers, _ := img.Layers()
			if len(layers) != len(set.Layers) {
				t.Fatalf("%d layers, want %d", len(layers), len(set.Layers))
			}
			for i, l := range layers {
				mt, _ := l.MediaType()
				diffID, _ := l.DiffID()
				if mt != tt.mediaType || diffID.String() != set.Layers[i].DiffID {
					t.Errorf("layer %d: %s %s, want %s %s", i+1, mt, diffID, tt.mediaType, set.Layers[i].DiffID)
				}
			}
			// The registry's copy reads back (digest verified) and decompresses.
			if _, err := readLayer0(layers[0]); err != nil {
				t.Errorf("layer 1 does not decompress: %v", err)
			}
		})
	}
}

func readLayer0(l interface {
	Uncompressed() (io.ReadCloser, error)
}) (int64, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}
