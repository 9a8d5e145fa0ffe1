package inspect

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"sync"

	"github.com/ctrlite/ctr-lite/pkg/compression"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	digest "github.com/opencontainers/go-digest"
)

// layerScan is what one pass over a layer stream yields.
type layerScan struct {
	entries      []*Entry // tar order; whiteout and opaque markers included
	diffID       digest.Digest
	compressed   int64
	uncompressed int64
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// countHash counts and hashes what passes through it.
type countHash struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (c *countHash) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.h.Write(p[:n])
		c.n += int64(n)
	}
	return n, err
}

func (c *countHash) digest() digest.Digest {
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(c.h.Sum(nil)))
}

// digestString renders a sha256 sum as "sha256:<hex>" in one allocation.
func digestString(sum []byte) string {
	const prefix = "sha256:"
	b := make([]byte, len(prefix)+hex.EncodedLen(len(sum)))
	copy(b, prefix)
	hex.Encode(b[len(prefix):], sum)
	return string(b)
}

// scanLayer streams layer i once: the compressed blob is checked against
// the manifest descriptor, the uncompressed stream against the config's
// diff_id, and every regular file's content is hashed. Nothing is written.
func scanLayer(ctx context.Context, src Source, i int) (*layerScan, error) {
	desc := src.Manifest().Layers[i]
	rc, err := src.OpenLayer(ctx, i)
	if err != nil {
		return nil, fmt.Errorf("open layer %d %s: %w", i, desc.Digest, err)
	}
	defer rc.Close()
	comp := &countHash{r: rc, h: sha256.New()}
	dr, _, err := compression.Decompress(comp, desc.MediaType)
	if err != nil {
		return nil, fmt.Errorf("layer %d %s: %w", i, desc.Digest, err)
	}
	defer dr.Close()
	raw := &countHash{r: dr, h: sha256.New()}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp

	ls := &layerScan{}
	inLayer := map[string]*Entry{}
	var links []*Entry
	fh := sha256.New()
	var sum [sha256.Size]byte
	tr := tar.NewReader(raw)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("layer %d %s: read tar: %w", i, desc.Digest, err)
		}
		e := entryFromHeader(h, i)
		if e == nil {
			continue
		}
		switch e.Type {
		case TypeFile:
			fh.Reset()
			if _, err := io.CopyBuffer(fh, tr, buf); err != nil {
				return nil, fmt.Errorf("layer %d %s: read %s: %w", i, desc.Digest, e.Path, err)
			}
			e.Digest = digestString(fh.Sum(sum[:0]))
			inLayer[e.Path] = e
		case TypeHardlink:
			links = append(links, e)
		}
		ls.entries = append(ls.entries, e)
	}
	// The diffID covers the whole stream, tar padding included.
	if _, err := io.CopyBuffer(io.Discard, raw, buf); err != nil {
		return nil, fmt.Errorf("layer %d %s: decompress: %w", i, desc.Digest, err)
	}
	if _, err := io.CopyBuffer(io.Discard, comp, buf); err != nil {
		return nil, fmt.Errorf("layer %d %s: read: %w", i, desc.Digest, err)
	}
	for _, l := range links {
		if t, ok := inLayer[l.LinkTarget]; ok {
			l.Size, l.Digest = t.Size, t.Digest
		}
	}
	ls.compressed, ls.uncompressed, ls.diffID = comp.n, raw.n, raw.digest()
	if got := comp.digest(); got != desc.Digest || comp.n != desc.Size {
		return nil, fmt.Errorf("layer %d: blob is %s (%d bytes), manifest says %s (%d bytes): %w",
			i, got, comp.n, desc.Digest, desc.Size, errdefs.ErrDigestMismatch)
	}
	if ids := src.Config().RootFS.DiffIDs; i < len(ids) && ids[i] != ls.diffID {
		return nil, fmt.Errorf("layer %d %s: uncompressed sha256 is %s, config says %s: %w",
			i, desc.Digest, ls.diffID, ids[i], errdefs.ErrDiffIDMismatch)
	}
	return ls, nil
}

// scanAll scans every layer, one goroutine per layer, at most GOMAXPROCS
// at a time. The first error cancels the others.
func scanAll(ctx context.Context, src Source) ([]*layerScan, error) {
	layers := src.Manifest().Layers
	if n := len(src.Config().RootFS.DiffIDs); n != len(layers) {
		return nil, fmt.Errorf("manifest has %d layers, config %d diff_ids: %w", len(layers), n, ErrLayerCount)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]*layerScan, len(layers))
	errs := make([]error, len(layers))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range layers {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			out[i], errs[i] = scanLayer(ctx, src, i)
			if errs[i] != nil {
				cancel()
			}
		}(i)
	}
	wg.Wait()
	// Report the first real failure rather than a cancellation it caused.
	var first error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
		if err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	return out, nil
}
