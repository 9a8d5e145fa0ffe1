package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Fetcher is what Pull needs from a registry; *registry.Client is one.
type Fetcher interface {
	Resolve(ctx context.Context, ref reference.Reference) (ocispec.Descriptor, []byte, error)
	FetchManifest(ctx context.Context, ref reference.Reference, desc ocispec.Descriptor) ([]byte, error)
	Fetch(ctx context.Context, ref reference.Reference, desc ocispec.Descriptor, offset int64) (io.ReadCloser, int64, error)
}

// PullOptions tune a pull.
type PullOptions struct {
	Platform      Platform
	MaxConcurrent int      // parallel blob downloads; default 3
	Progress      Progress // default: none
	// Resumes is how often one blob download may resume after its body
	// broke off mid-way; default 5.
	Resumes int
	// Ready, when set, is called once the manifest and config are stored,
	// before the layers are: an unpacker can start on each layer while it
	// downloads (see content.Store.Follow).
	Ready func(*Image)
	// Timeout, when set, bounds the whole pull.
	Timeout time.Duration
	// MinRate is the slowest the blob downloads may go, all together;
	// default DefaultMinRate. Bytes < 0 turns the check off.
	MinRate MinRate
}

// MinRate is a minimum transfer rate: at least Bytes in every Interval.
type MinRate struct {
	Bytes    int64
	Interval time.Duration
}

// DefaultMinRate fails a pull that gets less than 1 KiB in 90 s: a server
// that trickles bytes would otherwise hold the pull (and the gc waiting on
// its lease) forever. The interval is longer than the registry client's
// 60 s idle timeout, so a download that stalls once and resumes passes.
var DefaultMinRate = MinRate{Bytes: 1 << 10, Interval: 90 * time.Second}

// PullResult says what a pull did.
type PullResult struct {
	Image *Image
	// Fetched and Existing count blobs downloaded and found in the store.
	Fetched, Existing int
	// Bytes is how many bytes were downloaded (resumed blobs count only the rest).
	Bytes int64
	// OtherPlatform is set when ref named a single-platform image whose
	// config says it is for another platform than the one asked for. It
	// is pulled as it is, as docker does; the caller should warn.
	OtherPlatform bool
}

// UpToDate reports whether the pull found everything already stored.
func (r *PullResult) UpToDate() bool { return r.Fetched == 0 }

// Pull fetches ref into the store and names it. It holds a store lease so
// gc cannot collect the blobs before the name is written.
func Pull(ctx context.Context, st *content.Store, f Fetcher, ref reference.Reference, opts PullOptions) (*PullResult, error) {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 3
	}
	if opts.Resumes <= 0 {
		opts.Resumes = 5
	}
	if opts.Progress == nil {
		opts.Progress = NoProgress{}
	}
	if opts.Platform.OS == "" {
		opts.Platform = HostPlatform()
	}
	if opts.MinRate == (MinRate{}) {
		opts.MinRate = DefaultMinRate
	}
	release, err := st.Root().Lease(ctx)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	defer release()
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	if opts.Timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, opts.Timeout,
			fmt.Errorf("not done after %s (--timeout): %w", opts.Timeout, context.DeadlineExceeded))
		defer stop()
	}
	p := &puller{st: st, f: f, ref: ref, opts: opts, abort: abort}
	img, err := p.pull(ctx)
	if err != nil {
		if cause := context.Cause(ctx); ctx.Err() != nil && cause != ctx.Err() {
			err = cause // the deadline or the rate check, not what it interrupted
		}
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	c := img.Config
	other := img.RawIndex == nil && c.OS != "" && c.Architecture != "" &&
		!opts.Platform.Matches(&ocispec.Platform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant})
	return &PullResult{Image: img, Fetched: p.fetched, Existing: p.existing, Bytes: p.bytes, OtherPlatform: other}, nil
}

type puller struct {
	st   *content.Store
	f    Fetcher
	ref  reference.Reference
	opts PullOptions

	mu                sync.Mutex
	fetched, existing int
	bytes             int64

	abort    context.CancelCauseFunc // ends the pull with a cause
	received atomic.Int64            // blob bytes so far, for the rate check
	active   atomic.Int32            // blobs this puller is downloading now (holding their ingest lock)
}

func (p *puller) pull(ctx context.Context) (*Image, error) {
	desc, raw, err := p.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > mediatype.MaxManifestSize {
		return nil, fmt.Errorf("%w: manifest is %d bytes, limit %d", ErrInvalid, len(raw), mediatype.MaxManifestSize)
	}
	if desc.Digest != digest.FromBytes(raw) {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, errdefs.ErrDigestMismatch)
	}
	store := func(d ocispec.Descriptor, raw []byte, _ Kind) error { return p.storeSmall(ctx, d, raw) }
	img, err := selectManifest(ctx, desc, raw, p.opts.Platform, p.manifest, store)
	if err != nil {
		return nil, err
	}
	if n := len(img.Manifest.Layers); n > mediatype.MaxLayers {
		return nil, fmt.Errorf("%w: manifest %s has %d layers, at most %d can be stacked", ErrInvalid, img.ManifestDesc.Digest, n, mediatype.MaxLayers)
	}
	go p.watchRate(ctx)
	// The config comes first: it names the layers' diff IDs an unpacker
	// started by Ready needs.
	if err := p.blob(ctx, img.Manifest.Config, "config"); err != nil {
		return nil, err
	}
	cfg, err := p.st.ReadBlob(ctx, img.Manifest.Config, MaxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if err := img.setConfig(cfg); err != nil {
		return nil, err
	}
	img.Name = p.ref.String()
	if p.opts.Ready != nil {
		p.opts.Ready(img)
	}
	if err := p.blobs(ctx, img.Manifest.Layers); err != nil {
		return nil, err
	}
	if err := p.st.SetName(ctx, img.Name, img.Target); err != nil {
		return nil, err
	}
	return img, nil
}

// Header is a Fetcher that can also ask for a manifest's descriptor
// alone (a HEAD request); *registry.Client is one.
type Header interface {
	Head(ctx context.Context, ref reference.Reference) (ocispec.Descriptor, error)
}

// resolve returns the root descriptor of ref and its manifest bytes. When
// the name is stored (a re-pull), it first asks for the descriptor alone:
// if the registry names a manifest the store holds, nothing more is
// fetched, one request as `crane digest` makes. Anything else (a changed
// tag, a registry whose HEAD lacks the digest, any error) falls back to
// the GET a first pull makes. The bytes are checked against the digest
// either way (pull).
func (p *puller) resolve(ctx context.Context) (ocispec.Descriptor, []byte, error) {
	if h, ok := p.f.(Header); ok {
		if _, err := p.st.Get(ctx, p.ref.String()); err == nil {
			if d, err := h.Head(ctx, p.ref); err == nil {
				if raw, err := p.st.ReadBlob(ctx, d, mediatype.MaxManifestSize); err == nil {
					return d, raw, nil
				}
			} else if ctx.Err() != nil {
				return ocispec.Descriptor{}, nil, err
			}
		}
	}
	return p.f.Resolve(ctx, p.ref)
}

// manifest returns a child manifest from the store, or fetches it.
func (p *puller) manifest(ctx context.Context, desc ocispec.Descriptor) ([]byte, error) {
	raw, err := p.st.ReadBlob(ctx, desc, mediatype.MaxManifestSize)
	if err == nil {
		return raw, nil
	}
	if !errors.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	return p.f.FetchManifest(ctx, p.ref, desc)
}

// storeSmall writes a manifest or index the pull already holds in memory.
func (p *puller) storeSmall(ctx context.Context, desc ocispec.Descriptor, raw []byte) error {
	desc.Size = int64(len(raw))
	if err := p.st.WriteBlob(ctx, desc, bytes.NewReader(raw)); err != nil {
		return fmt.Errorf("store manifest %s: %w", desc.Digest, err)
	}
	return nil
}

// blobs fetches every layer, at most MaxConcurrent at once.
func (p *puller) blobs(ctx context.Context, layers []ocispec.Descriptor) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		desc  ocispec.Descriptor
		label string
	}
	var jobs []job
	dup := map[digest.Digest]bool{}
	for i, l := range layers {
		if dup[l.Digest] {
			continue // a layer listed twice is fetched once
		}
		dup[l.Digest] = true
		jobs = append(jobs, job{l, fmt.Sprintf("layer %d/%d", i+1, len(layers))})
	}
	// Workers take the layers in order, bottom first: that is the order an
	// unpacker following the downloads needs them in.
	queue := make(chan job, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	errs := make(chan error, len(jobs))
	var wg sync.WaitGroup
	for range min(p.opts.MaxConcurrent, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if ctx.Err() != nil {
					errs <- ctx.Err()
					return
				}
				if err := p.blob(ctx, j.desc, j.label); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	p.opts.Progress.Wait()
	close(errs)
	// Report the first real error, not the cancellations it caused.
	var first error
	for err := range errs {
		if first == nil || (errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	return first
}

// blob downloads one blob into the store, resuming from a partial ingest
// and after a body that broke off mid-way.
func (p *puller) blob(ctx context.Context, desc ocispec.Descriptor, label string) error {
	rep := p.opts.Progress
	for attempt := 0; ; attempt++ {
		w, err := p.st.Writer(ctx, desc)
		if errors.Is(err, errdefs.ErrExists) {
			if attempt == 0 {
				rep.Start(desc.Digest, label, desc.Size, desc.Size, Exists)
				rep.Done(desc.Digest, nil)
				p.count(&p.existing, 0)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", label, desc.Digest, err)
		}
		p.active.Add(1)
		n, err := p.download(ctx, w, desc, label, attempt)
		p.active.Add(-1)
		p.count(nil, n)
		if err == nil {
			err = w.Commit(ctx)
		}
		w.Close()
		if err == nil {
			p.count(&p.fetched, 0)
			rep.Done(desc.Digest, nil)
			return nil
		}
		if ctx.Err() != nil || !resumable(err) || attempt >= p.opts.Resumes {
			rep.Done(desc.Digest, err)
			return fmt.Errorf("%s %s: %w", label, desc.Digest, err)
		}
		select {
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// download copies the blob body into w from w's offset and returns how
// many bytes came over the network.
func (p *puller) download(ctx context.Context, w *content.Writer, desc ocispec.Descriptor, label string, attempt int) (int64, error) {
	off := w.Offset()
	body, start, err := p.f.Fetch(ctx, p.ref, desc, off)
	if err != nil {
		return 0, err // the registry client has retried what is transient
	}
	defer body.Close()
	if start != off {
		if err := w.Reset(); err != nil {
			return 0, err
		}
		off = 0
	}
	if attempt == 0 {
		ev := Fetching
		if off > 0 {
			ev = Resumed
		}
		p.opts.Progress.Start(desc.Digest, label, desc.Size, off, ev)
	}
	buf := getBuf()
	defer putBuf(buf)
	var n int64
	for {
		k, rerr := body.Read(*buf)
		if k > 0 {
			if _, err := w.Write((*buf)[:k]); err != nil {
				return n, err
			}
			n += int64(k)
			p.received.Add(int64(k))
			p.opts.Progress.Add(desc.Digest, int64(k))
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, errBody{rerr}
		}
	}
}

// watchRate aborts the pull when less than MinRate.Bytes of blobs arrive
// in one MinRate.Interval while this puller is downloading; an interval in
// which it only waits (for another process's download of the same blob,
// under its ingest lock) does not count. It returns when ctx ends.
func (p *puller) watchRate(ctx context.Context) {
	r := p.opts.MinRate
	if r.Bytes < 0 || r.Interval <= 0 {
		return
	}
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	last := p.received.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := p.received.Load()
		if p.active.Load() == 0 {
			last = now // waiting, not downloading
			continue
		}
		if now-last < r.Bytes {
			p.abort(fmt.Errorf("download too slow: %d bytes in the last %s, the minimum is %d: %w",
				now-last, r.Interval, r.Bytes, context.DeadlineExceeded))
			return
		}
		last = now
	}
}

// errBody marks a blob body that broke off mid-way: the bytes written so
// far are good (the store re-hashes them) and the download can resume.
type errBody struct{ err error }

func (e errBody) Error() string { return e.err.Error() }
func (e errBody) Unwrap() error { return e.err }

func resumable(err error) bool {
	var b errBody
	return errors.As(err, &b)
}

// count adds n downloaded bytes and bumps counter when it is not nil.
func (p *puller) count(counter *int, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytes += n
	if counter != nil {
		*counter++
	}
}
