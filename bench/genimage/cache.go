package main

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

// generatorVersion changes whenever the generated content changes, so old
// caches are not reused.
const generatorVersion = 2

type blobMeta struct {
	Digest string `json:"digest"` // sha256:hex
	Size   int64  `json:"size"`
	File   string `json:"file"` // name inside the cache directory
}

type layerMeta struct {
	Index   int      `json:"index"`
	DiffID  string   `json:"diffID"`
	RawSize int64    `json:"rawSize"`
	Entries int64    `json:"entries"`
	Gzip    blobMeta `json:"gzip"`
	Zstd    blobMeta `json:"zstd"`
}

type layerSet struct {
	Version int         `json:"version"`
	Seed    uint64      `json:"seed"`
	Scale   float64     `json:"scale"`
	Layers  []layerMeta `json:"layers"`
	dir     string
}

func (s *layerSet) total(f func(layerMeta) int64) int64 {
	var n int64
	for _, l := range s.Layers {
		n += f(l)
	}
	return n
}

// loadOrGenerate returns the cached layer set for seed and scale, making
// it first when the cache lacks it.
func loadOrGenerate(ctx context.Context, sh shape, seed uint64, f float64, cache string, workers int) (*layerSet, bool, error) {
	dir := filepath.Join(cache, fmt.Sprintf("%s-v%d-seed%d-scale%g%s", sh.name, generatorVersion, seed, f, sh.key))
	if set, err := load(dir, len(sh.specs)); err == nil {
		return set, true, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, false, err
	}
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, false, err
	}
	set := &layerSet{Version: generatorVersion, Seed: seed, Scale: f, Layers: make([]layerMeta, len(sh.specs))}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, workers))
	for i, sp := range sh.specs {
		g.Go(func() error {
			m, err := generate(ctx, tmp, seed, scale(i, sp, f), sp, f)
			set.Layers[i] = m
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, false, err
	}
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), b, 0o644); err != nil {
		return nil, false, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, false, err
	}
	set.dir = dir
	return set, false, nil
}

func load(dir string, layers int) (*layerSet, error) {
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	var set layerSet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, err
	}
	if set.Version != generatorVersion || len(set.Layers) != layers {
		return nil, errors.New("stale cache")
	}
	for _, l := range set.Layers {
		for _, b := range []blobMeta{l.Gzip, l.Zstd} {
			st, err := os.Stat(filepath.Join(dir, b.File))
			if err != nil || st.Size() != b.Size {
				return nil, errors.New("incomplete cache")
			}
		}
	}
	set.dir = dir
	return &set, nil
}

// hashedFile is a blob file being written with its digest and size.
type hashedFile struct {
	f *os.File
	w *bufio.Writer
	h hash.Hash
	n int64
}

func createHashed(name string) (*hashedFile, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	return &hashedFile{f: f, w: bufio.NewWriterSize(f, 1<<20), h: sha256.New()}, nil
}

func (h *hashedFile) Write(p []byte) (int, error) {
	h.h.Write(p)
	h.n += int64(len(p))
	return h.w.Write(p)
}

func (h *hashedFile) close() (blobMeta, error) {
	err := h.w.Flush()
	if cerr := h.f.Close(); err == nil {
		err = cerr
	}
	return blobMeta{Digest: "sha256:" + hex.EncodeToString(h.h.Sum(nil)), Size: h.n, File: filepath.Base(h.f.Name())}, err
}

type counter struct {
	h hash.Hash
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

// generate writes layer s as a gzip blob and a zstd blob in dir.
func generate(ctx context.Context, dir string, seed uint64, s scaled, sp layerSpec, f float64) (layerMeta, error) {
	m := layerMeta{Index: s.index}
	gzf, err := createHashed(filepath.Join(dir, fmt.Sprintf("layer%d.tar.gz", s.index)))
	if err != nil {
		return m, err
	}
	zsf, err := createHashed(filepath.Join(dir, fmt.Sprintf("layer%d.tar.zst", s.index)))
	if err != nil {
		return m, err
	}
	gzw, err := gzip.NewWriterLevel(gzf, gzip.DefaultCompression)
	if err != nil {
		return m, err
	}
	zsw, err := zstd.NewWriter(zsf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return m, err
	}
	raw := &counter{h: sha256.New()}
	tw := tar.NewWriter(io.MultiWriter(raw, gzw, zsw))
	w := newLayerWriter(tw, seed, s.index, f)
	if sp.busybox != "" {
		if err := w.busybox(sp.busybox); err != nil {
			return m, fmt.Errorf("layer %d: %w", s.index, err)
		}
	}
	if err := regular(w, s); err != nil {
		return m, fmt.Errorf("layer %d: %w", s.index, err)
	}
	if sp.extra != nil {
		if err := sp.extra(w, s); err != nil {
			return m, fmt.Errorf("layer %d: %w", s.index, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return m, err
	}
	for _, c := range []io.Closer{tw, gzw, zsw} {
		if err := c.Close(); err != nil {
			return m, fmt.Errorf("layer %d: %w", s.index, err)
		}
	}
	if m.Gzip, err = gzf.close(); err != nil {
		return m, err
	}
	if m.Zstd, err = zsf.close(); err != nil {
		return m, err
	}
	m.DiffID = "sha256:" + hex.EncodeToString(raw.h.Sum(nil))
	m.RawSize, m.Entries = raw.n, w.entries
	return m, nil
}
