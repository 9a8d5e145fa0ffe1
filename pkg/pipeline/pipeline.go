package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/rootfs"
	"github.com/ctrlite/ctr-lite/pkg/snapshot"
	"github.com/ctrlite/ctr-lite/unpack"
)

// Options tune the pipeline's calls.
type Options struct {
	// Pull tunes the download: platform (default: this machine's),
	// concurrency, progress.
	Pull image.PullOptions
	// Unpack makes Pull also build the image's snapshots, in the same pass.
	Unpack bool
	// Rootless makes Flatten skip device nodes and chown; it is automatic
	// on a rootless data root.
	Rootless bool
	// Private makes Flatten's dir mode 0700 as root (rootfs.Options.Private).
	Private bool
	// MaxUncompressed, when positive, caps the bytes Flatten's layers may
	// uncompress to, in all.
	MaxUncompressed int64
}

// Result says what a call did; see the package doc for what is set when.
type Result struct {
	Image     *image.Image
	Pull      *image.PullResult // nil when the stored image was used
	Snapshots *snapshot.Result  // Prepare, and Pull with Unpack
	Stats     unpack.Stats      // Flatten
	Skipped   []unpack.Skip     // Flatten: what a rootless unpack did not reproduce
}

// Pull pulls ref into the store and, with opts.Unpack, builds its
// snapshots while the layers download.
func Pull(ctx context.Context, st *content.Store, f image.Fetcher, ref reference.Reference, opts Options) (*Result, error) {
	if opts.Unpack {
		return prepare(ctx, st, f, ref, true, opts.Pull)
	}
	pr, err := image.Pull(ctx, st, f, ref, opts.Pull)
	if err != nil {
		return nil, err
	}
	return &Result{Image: pr.Image, Pull: pr}, nil
}

// Prepare builds the snapshots of the image stored under ref, pulling it
// first (and unpacking while it downloads) when it is not stored.
func Prepare(ctx context.Context, st *content.Store, f image.Fetcher, ref reference.Reference, opts Options) (*Result, error) {
	return prepare(ctx, st, f, ref, false, opts.Pull)
}

func prepare(ctx context.Context, st *content.Store, f image.Fetcher, ref reference.Reference, always bool, po image.PullOptions) (*Result, error) {
	sn, err := snapshot.New(st)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	err = with(ctx, st, f, ref, always, po, res, func(ctx context.Context, img *image.Image, open content.Opener) error {
		var err error
		res.Snapshots, err = sn.Prepare(ctx, img, snapshot.PrepareOptions{Open: open})
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Flatten writes the root filesystem of the image stored under ref into
// dir (empty or absent), pulling the image first (and unpacking while it
// downloads) when it is not stored. The Result is never nil.
func Flatten(ctx context.Context, st *content.Store, f image.Fetcher, ref reference.Reference, dir string, opts Options) (*Result, error) {
	res := &Result{}
	var mu sync.Mutex // layers may be applied in parallel
	err := with(ctx, st, f, ref, false, opts.Pull, res, func(ctx context.Context, img *image.Image, open content.Opener) error {
		var err error
		res.Stats, err = rootfs.Flatten(ctx, st, img, dir, rootfs.Options{
			Rootless: opts.Rootless,
			Private:  opts.Private,
			Skipped: func(s unpack.Skip) {
				mu.Lock()
				res.Skipped = append(res.Skipped, s)
				mu.Unlock()
			},
			Open:            open,
			MaxUncompressed: opts.MaxUncompressed,
		})
		return err
	})
	return res, err
}

// with hands the image to consume, and records it and the pull's result
// in res. A stored image (unless always) is used as it is. Otherwise it
// is pulled, and consume starts as soon as the config is stored, with an
// opener that follows each layer as it downloads. The pull's error wins
// over the consumer's, unless the pull failed only because the consumer's
// failure cancelled it.
func with(ctx context.Context, st *content.Store, f image.Fetcher, ref reference.Reference, always bool, po image.PullOptions,
	res *Result, consume func(ctx context.Context, img *image.Image, open content.Opener) error) error {
	if po.Platform.OS == "" {
		po.Platform = image.HostPlatform()
	}
	var missing *image.PlatformNotStoredError // the name is stored, not this platform
	if !always {
		img, err := image.Load(ctx, st, ref, po.Platform)
		if err == nil {
			res.Image = img
			return consume(ctx, img, st.Opener())
		}
		if !errors.Is(err, image.ErrNotStored) && !errors.Is(err, image.ErrPlatformNotFound) {
			return err
		}
		errors.As(err, &missing)
	}
	pullErr := func(err error) error {
		if missing != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("%w; pulling it failed: %w", missing, err)
		}
		return err
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan *image.Image, 1)
	po.Ready = func(img *image.Image) { ready <- img }
	var pr *image.PullResult
	pulled := make(chan error, 1)
	go func() {
		var err error
		if pr, err = image.Pull(ctx, st, f, ref, po); err != nil {
			cancel()
		}
		pulled <- err
	}()
	var img *image.Image
	select {
	case img = <-ready:
	case err := <-pulled:
		if err != nil {
			return pullErr(err)
		}
		img = <-ready // a successful pull always said it was ready
		pulled <- nil
	}
	cerr := consume(ctx, img, st.Follow)
	if cerr != nil {
		cancel()
	}
	perr := <-pulled
	// A pull that failed only because the consumer's failure cancelled it
	// has nothing to add to the consumer's error.
	cancelledByConsumer := cerr != nil && errors.Is(perr, context.Canceled) && parent.Err() == nil
	if perr != nil && !cancelledByConsumer {
		return pullErr(perr)
	}
	res.Image, res.Pull = img, pr
	return cerr
}
