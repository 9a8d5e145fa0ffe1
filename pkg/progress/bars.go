package progress

import (
	"io"
	"sync"

	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/opencontainers/go-digest"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Bars draws one progress bar per blob on a terminal.
type Bars struct {
	p    *mpb.Progress
	mu   sync.Mutex
	bars map[digest.Digest]*mpb.Bar
}

// NewBars returns a bar reporter drawing on w, which should be a terminal.
func NewBars(w io.Writer) *Bars {
	return &Bars{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithAutoRefresh()), bars: map[digest.Digest]*mpb.Bar{}}
}

func (b *Bars) Start(d digest.Digest, label string, size, offset int64, ev image.Event) {
	name := label + " " + units.ShortDigest(d.String())
	note := ""
	switch ev {
	case image.Exists:
		note = " exists"
	case image.Resumed:
		note = " resumed"
	}
	bar := b.p.AddBar(size,
		mpb.PrependDecorators(decor.Name(name, decor.WC{C: decor.DindentRight | decor.DextraSpace})),
		mpb.AppendDecorators(
			decor.CountersKiloByte("% .1f / % .1f"),
			decor.Name(" "),
			decor.OnComplete(decor.AverageSpeed(decor.SizeB1000(0), "% .1f"), "done"+note),
		),
	)
	bar.SetCurrent(offset)
	if ev == image.Exists {
		bar.SetCurrent(size)
		bar.SetTotal(size, true)
	}
	b.mu.Lock()
	b.bars[d] = bar
	b.mu.Unlock()
}

func (b *Bars) bar(d digest.Digest) *mpb.Bar {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bars[d]
}

func (b *Bars) Add(d digest.Digest, n int64) {
	if bar := b.bar(d); bar != nil {
		bar.IncrInt64(n)
	}
}

func (b *Bars) Done(d digest.Digest, err error) {
	bar := b.bar(d)
	if bar == nil {
		return
	}
	if err != nil {
		bar.Abort(false)
		return
	}
	bar.SetTotal(-1, true)
}

func (b *Bars) Wait() { b.p.Wait() }
