package launch

import (
	"context"
	"errors"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/snapshot"
)

// WithImage hands img to consume. A stored image (unless always) is used
// as it is. Otherwise it is pulled, and consume starts as soon as the
// config is known, with an opener that follows each layer as it downloads:
// download, digest check, decompression and unpacking are one pass. The
// pull's error wins over the consumer's (which then only saw a cancel).
// The pull's result is nil when nothing was pulled.
func WithImage(ctx context.Context, st *content.Store, f image.Fetcher, name string, always bool, po image.PullOptions,
	consume func(ctx context.Context, img *image.Image, open content.Opener) error) (*image.Image, *image.PullResult, error) {
	if po.Platform.OS == "" {
		po.Platform = image.HostPlatform()
	}
	if !always {
		img, err := image.Load(ctx, st, name, po.Platform)
		if err == nil {
			return img, nil, consume(ctx, img, st.Opener())
		}
		if !errors.Is(err, image.ErrNotStored) && !errors.Is(err, image.ErrPlatformNotFound) {
			return nil, nil, err
		}
	}
	ref, err := reference.Parse(name)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan *image.Image, 1)
	po.Ready = func(img *image.Image) { ready <- img }
	var res *image.PullResult
	pulled := make(chan error, 1)
	go func() {
		var err error
		if res, err = image.Pull(ctx, st, f, ref, po); err != nil {
			cancel()
		}
		pulled <- err
	}()
	var img *image.Image
	select {
	case img = <-ready:
	case err := <-pulled:
		if err != nil {
			return nil, nil, err
		}
		img = <-ready // a successful pull always said it was ready
		pulled <- nil
	}
	cerr := consume(ctx, img, st.Follow)
	if cerr != nil {
		cancel()
	}
	if perr := <-pulled; perr != nil {
		return nil, nil, perr
	}
	return img, res, cerr
}

// Prepared is an image with its snapshots built.
type Prepared struct {
	Image     *image.Image
	Pull      *image.PullResult // nil when the image was stored already
	Snapshots *snapshot.Result
}

// Prepare builds the image's snapshots, pulling and unpacking in one pass
// what is not stored yet; always pulls even a stored image (`pull --unpack`).
func Prepare(ctx context.Context, st *content.Store, f image.Fetcher, name string, always bool, po image.PullOptions) (*Prepared, error) {
	sn, err := snapshot.New(st)
	if err != nil {
		return nil, err
	}
	p := &Prepared{}
	p.Image, p.Pull, err = WithImage(ctx, st, f, name, always, po, func(ctx context.Context, img *image.Image, open content.Opener) error {
		var err error
		p.Snapshots, err = sn.Prepare(ctx, img, snapshot.PrepareOptions{Open: open})
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
