// Package testimage stores images built in tests into a content store.
// It is separate from internal/testutil, which the store's own tests use.
package testimage

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Platform is the platform of the images Store makes.
var Platform = image.Platform{OS: "linux", Architecture: "amd64"}

// Store stores an image made of the given uncompressed tar layers (gzipped
// here) under name, and returns it loaded from the store.
func Store(t testing.TB, st *content.Store, name string, layers [][]byte) *image.Image {
	t.Helper()
	return store(t, st, name, layers, ocispec.MediaTypeImageLayerGzip, testutil.Gzip)
}

// StoreZstd is Store with zstd-compressed layers.
func StoreZstd(t testing.TB, st *content.Store, name string, layers [][]byte) *image.Image {
	t.Helper()
	return store(t, st, name, layers, ocispec.MediaTypeImageLayerZstd, testutil.Zstd)
}

func store(t testing.TB, st *content.Store, name string, layers [][]byte, layerType string, compress func(testing.TB, []byte) []byte) *image.Image {
	t.Helper()
	ctx := context.Background()
	put := func(mt string, b []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := st.WriteBlob(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	var cfg ocispec.Image
	cfg.OS, cfg.Architecture, cfg.RootFS.Type = Platform.OS, Platform.Architecture, "layers"
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest}
	m.SchemaVersion = 2
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromBytes(l))
		m.Layers = append(m.Layers, put(layerType, compress(t, l)))
	}
	raw, _ := json.Marshal(cfg)
	m.Config = put(ocispec.MediaTypeImageConfig, raw)
	raw, _ = json.Marshal(m)
	if err := st.SetName(ctx, name, put(ocispec.MediaTypeImageManifest, raw)); err != nil {
		t.Fatal(err)
	}
	ref, err := reference.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	img, err := image.Load(ctx, st, ref, Platform)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
