package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/opencontainers/go-digest"
)

const (
	barWidth    = 32
	redrawEvery = 150 * time.Millisecond
)

// Bars draws one progress bar per blob on a terminal, redrawing them all
// in place a few times a second: name, bar, bytes so far and in all, and
// the average rate ("done", "done exists" or "failed" once over).
type Bars struct {
	w     io.Writer
	mu    sync.Mutex
	bars  []*bar
	byDig map[digest.Digest]*bar
	drawn int           // lines on the screen from the last draw
	stop  chan struct{} // closed by Wait to end the redraw loop
	ended chan struct{} // closed when the loop has ended
}

type bar struct {
	name, note   string
	size, cur    int64
	start        int64 // offset the download began at, for the rate
	began        time.Time
	done, failed bool
}

// NewBars returns a bar reporter drawing on w, which should be a terminal.
func NewBars(w io.Writer) *Bars { return &Bars{w: w, byDig: map[digest.Digest]*bar{}} }

func (b *Bars) Start(d digest.Digest, label string, size, offset int64, ev image.Event) {
	nb := &bar{name: label + " " + units.ShortDigest(d.String()), size: size, cur: offset, start: offset, began: time.Now()}
	switch ev {
	case image.Exists:
		nb.note, nb.cur, nb.done = " exists", size, true
	case image.Resumed:
		nb.note = " resumed"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bars = append(b.bars, nb)
	b.byDig[d] = nb
	if b.stop == nil { // the first bar (since the last Wait) starts the redraws
		b.stop, b.ended = make(chan struct{}), make(chan struct{})
		go b.loop(b.stop, b.ended)
	}
}

func (b *Bars) loop(stop, ended chan struct{}) {
	defer close(ended)
	t := time.NewTicker(redrawEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			b.mu.Lock()
			b.draw()
			b.mu.Unlock()
		}
	}
}

func (b *Bars) Add(d digest.Digest, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if br := b.byDig[d]; br != nil {
		br.cur += n
	}
}

func (b *Bars) Done(d digest.Digest, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.byDig[d]
	if br == nil || br.done || br.failed {
		return
	}
	if err != nil {
		br.failed = true
		return
	}
	br.done = true
}

// Wait draws the bars a last time and stops redrawing.
func (b *Bars) Wait() {
	b.mu.Lock()
	stop, ended := b.stop, b.ended
	b.stop, b.ended = nil, nil
	b.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-ended
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draw()
	b.bars, b.drawn = nil, 0
	clear(b.byDig)
}

// draw rewrites every bar's line in place; b.mu is held.
func (b *Bars) draw() {
	var s strings.Builder
	if b.drawn > 0 {
		fmt.Fprintf(&s, "\x1b[%dA", b.drawn) // back to the first bar's line
	}
	width := 0
	for _, br := range b.bars {
		width = max(width, len(br.name))
	}
	for _, br := range b.bars {
		fmt.Fprintf(&s, "\r\x1b[2K%-*s %s\n", width, br.name, br.line())
	}
	b.drawn = len(b.bars)
	io.WriteString(b.w, s.String())
}

func (br *bar) line() string {
	filled := barWidth
	if br.size > 0 {
		filled = int(min(br.cur, br.size) * barWidth / br.size)
	}
	rest := barWidth - filled
	head := ""
	if rest > 0 && !br.done {
		head, rest = ">", rest-1
	}
	meter := "[" + strings.Repeat("=", filled) + head + strings.Repeat("-", rest) + "]"
	counts := units.HumanSize(br.cur) + " / " + units.HumanSize(br.size)
	switch {
	case br.failed:
		return meter + " " + counts + " failed"
	case br.done:
		return meter + " " + counts + " done" + br.note
	}
	rate := ""
	if secs := time.Since(br.began).Seconds(); secs > 0 {
		rate = " " + units.HumanSize(int64(float64(br.cur-br.start)/secs)) + "/s"
	}
	return meter + " " + counts + rate
}
