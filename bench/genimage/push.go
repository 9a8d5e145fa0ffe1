package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fileLayer is a cached compressed layer blob; it knows its diff ID so
// nothing is decompressed to push it.
type fileLayer struct {
	path      string
	blob      blobMeta
	diffID    string
	mediaType types.MediaType
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return v1.NewHash(l.blob.Digest) }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return v1.NewHash(l.diffID) }
func (l *fileLayer) Size() (int64, error)                { return l.blob.Size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

// push writes the image with the set's gzip or zstd blobs to ref.
func push(ctx context.Context, set *layerSet, useZstd bool, ref string) (v1.Hash, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range set.Layers {
		fl := &fileLayer{path: filepath.Join(set.dir, l.Gzip.File), blob: l.Gzip, diffID: l.DiffID, mediaType: types.OCILayer}
		if useZstd {
			fl = &fileLayer{path: filepath.Join(set.dir, l.Zstd.File), blob: l.Zstd, diffID: l.DiffID, mediaType: types.OCILayerZStd}
		}
		layer, err := partial.CompressedToLayer(fl)
		if err != nil {
			return v1.Hash{}, err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: fl.mediaType, History: v1.History{
			CreatedBy: fmt.Sprintf("genimage -seed %d -scale %g (layer %d)", set.Seed, set.Scale, l.Index),
			Created:   v1.Time{Time: mtime},
		}})
		if err != nil {
			return v1.Hash{}, err
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return v1.Hash{}, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Created = v1.Time{Time: mtime}
	cfg.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cfg.Config.Cmd = []string{"/bin/sh"}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(r, img, remote.WithContext(ctx)); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return img.Digest()
}
