package transfer

import (
	"context"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/ctrlite/ctr-lite/pkg/image"
)

// Source is where an image tree is read from.
type Source interface {
	// Root returns the top-level manifest or index and its bytes.
	Root(ctx context.Context) (ocispec.Descriptor, []byte, error)
	// Manifest returns a child manifest's bytes, checked against desc;
	// errdefs.ErrNotFound when the source does not hold it (a store that
	// pulled one platform of an index).
	Manifest(ctx context.Context, desc ocispec.Descriptor) ([]byte, error)
	// Open returns a blob's bytes from offset on.
	Open(ctx context.Context, desc ocispec.Descriptor, offset int64) (io.ReadCloser, error)
	// Repository is the registry and repository the blobs live in
	// ("host/repo"), for cross-repository mounts; "" when none.
	Repository() string
}

// Target is where an image tree is written to.
type Target interface {
	// Has reports whether the target already holds the blob.
	Has(ctx context.Context, desc ocispec.Descriptor) (bool, error)
	// PutBlob writes a blob read from src; it reports whether it was
	// mounted from mountFrom ("host/repo") rather than sent.
	PutBlob(ctx context.Context, desc ocispec.Descriptor, src Source, mountFrom string, sent func(int64)) (bool, error)
	// PutManifest writes a manifest or index byte for byte; top is set
	// for the tree's root, which the target names.
	PutManifest(ctx context.Context, desc ocispec.Descriptor, raw []byte, top bool) error
	// Close finishes the target (an archive's index); it is called once
	// after a successful copy.
	Close(ctx context.Context) error
}

// Options tune Copy.
type Options struct {
	// Platform, when set, copies only that platform's manifest of an
	// index; the default copies every platform, the index byte for byte.
	Platform *image.Platform
	// MaxConcurrent is how many blobs are sent at once; default 3.
	MaxConcurrent int
	// Progress is told of every blob; default none.
	Progress image.Progress
}

// Result says what Copy did.
type Result struct {
	Root ocispec.Descriptor // what the target was given as the root
	// Sent, Existing and Mounted count blobs sent, found at the target
	// and mounted from another repository.
	Sent, Existing, Mounted int
	Bytes                   int64 // bytes sent
	// Dropped lists platforms of the source index that the source did not
	// hold; the root is then a new index of the others.
	Dropped []ocispec.Descriptor
}

// Copy copies src's tree to dst: blobs first (in parallel), then child
// manifests, then the root.
func Copy(ctx context.Context, src Source, dst Target, opts Options) (*Result, error) {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 3
	}
	if opts.Progress == nil {
		opts.Progress = image.NoProgress{}
	}
	defer opts.Progress.Wait()
	root, raw, err := src.Root(ctx)
	if err != nil {
		return nil, err
	}
	c := &copier{src: src, dst: dst, opts: opts, res: &Result{}, seen: map[digest.Digest]bool{}}
	tree, err := c.plan(ctx, root, raw)
	if err != nil {
		return nil, err
	}
	if err := c.blobs(ctx, tree); err != nil {
		return nil, err
	}
	for _, m := range tree.children {
		if err := dst.PutManifest(ctx, m.desc, m.raw, false); err != nil {
			return nil, err
		}
	}
	if err := dst.PutManifest(ctx, tree.root.desc, tree.root.raw, true); err != nil {
		return nil, err
	}
	if err := dst.Close(ctx); err != nil {
		return nil, err
	}
	c.res.Root = tree.root.desc
	return c.res, nil
}

type doc struct {
	desc ocispec.Descriptor
	raw  []byte
}

// tree is what to copy: blobs, the child manifests, the root.
type tree struct {
	blobs    []ocispec.Descriptor
	children []doc
	root     doc
}

type copier struct {
	src  Source
	dst  Target
	opts Options
	res  *Result
	seen map[digest.Digest]bool

	mu sync.Mutex
}

// plan reads the manifests and lists the blobs.
func (c *copier) plan(ctx context.Context, root ocispec.Descriptor, raw []byte) (*tree, error) {
	if root.MediaType == "" {
		root.MediaType = sniff(raw) // a layout entry may leave it out; a registry needs it
	}
	t := &tree{root: doc{root, raw}}
	if !mediatype.IsIndex(root.MediaType) {
		return t, c.addManifest(t, root, raw)
	}
	idx, err := image.DecodeIndex(raw)
	if err != nil {
		return nil, err
	}
	if c.opts.Platform != nil {
		d, err := image.SelectPlatform(idx, *c.opts.Platform)
		if err != nil {
			return nil, err
		}
		b, err := c.src.Manifest(ctx, d)
		if err != nil {
			return nil, err
		}
		t.root = doc{stripPlatform(d), b}
		return t, c.addManifest(t, d, b)
	}
	var kept []ocispec.Descriptor
	for _, d := range idx.Manifests {
		b, err := c.src.Manifest(ctx, d)
		if err != nil {
			if notStored(err) {
				c.res.Dropped = append(c.res.Dropped, d)
				continue
			}
			return nil, err
		}
		kept = append(kept, d)
		t.children = append(t.children, doc{d, b})
		if mediatype.IsManifest(d.MediaType) {
			if err := c.addManifest(t, d, b); err != nil {
				return nil, err
			}
		}
	}
	if len(c.res.Dropped) > 0 {
		if len(kept) == 0 {
			return nil, fmt.Errorf("index %s: no platform of it is stored: %w", root.Digest, errdefs.ErrNotFound)
		}
		if t.root, err = reindex(root, raw, kept); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// addManifest lists a manifest's config and layers, each blob once.
func (c *copier) addManifest(t *tree, d ocispec.Descriptor, raw []byte) error {
	m, err := image.DecodeManifest(raw)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if len(b.URLs) > 0 || c.seen[b.Digest] {
			continue // foreign layers stay where they are
		}
		c.seen[b.Digest] = true
		t.blobs = append(t.blobs, b)
	}
	return nil
}

// blobs sends every blob the target lacks, MaxConcurrent at a time.
func (c *copier) blobs(ctx context.Context, t *tree) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.MaxConcurrent)
	for _, b := range t.blobs {
		g.Go(func() error { return c.blob(ctx, b) })
	}
	return g.Wait()
}

func (c *copier) blob(ctx context.Context, b ocispec.Descriptor) error {
	p := c.opts.Progress
	label := "layer"
	if b.MediaType == ocispec.MediaTypeImageConfig || b.MediaType == mediatype.DockerConfig {
		label = "config"
	}
	has, err := c.dst.Has(ctx, b)
	if err != nil {
		return err
	}
	if has {
		p.Start(b.Digest, label, b.Size, b.Size, image.Exists)
		p.Done(b.Digest, nil)
		c.count(func(r *Result) { r.Existing++ })
		return nil
	}
	p.Start(b.Digest, label, b.Size, 0, image.Uploading)
	mounted, err := c.dst.PutBlob(ctx, b, c.src, c.src.Repository(), func(n int64) {
		p.Add(b.Digest, n)
		c.count(func(r *Result) { r.Bytes += n })
	})
	p.Done(b.Digest, err)
	if err != nil {
		return err
	}
	c.count(func(r *Result) {
		if mounted {
			r.Mounted++
		} else {
			r.Sent++
		}
	})
	return nil
}

func (c *copier) count(fn func(*Result)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(c.res)
}
