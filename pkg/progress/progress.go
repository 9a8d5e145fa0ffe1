package progress

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/opencontainers/go-digest"
	"golang.org/x/term"
)

var (
	_ image.Progress = (*Lines)(nil)
	_ image.Progress = (*Bars)(nil)
)

// Auto picks bars for a terminal and plain lines otherwise (CI=true, pipes,
// files). quiet selects a reporter that prints nothing.
func Auto(w io.Writer, quiet bool) image.Progress {
	if quiet {
		return image.NoProgress{}
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && os.Getenv("CI") == "" {
		return NewBars(w)
	}
	return NewLines(w)
}

// Lines prints one line when a blob starts and one when it ends.
type Lines struct {
	mu   sync.Mutex
	w    io.Writer
	size map[digest.Digest]int64
}

// NewLines returns a plain-line reporter writing to w.
func NewLines(w io.Writer) *Lines { return &Lines{w: w, size: map[digest.Digest]int64{}} }

func (l *Lines) Start(d digest.Digest, label string, size, offset int64, ev image.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.size[d] = size
	short := units.ShortDigest(d.String())
	switch ev {
	case image.Exists:
		delete(l.size, d) // nothing to finish: Done prints nothing for it
		fmt.Fprintf(l.w, "%s %s: exists (%s)\n", label, short, units.HumanSize(size))
		return
	case image.Resumed:
		fmt.Fprintf(l.w, "%s %s: resuming at %s of %s\n", label, short, units.HumanSize(offset), units.HumanSize(size))
	case image.Uploading:
		fmt.Fprintf(l.w, "%s %s: uploading %s\n", label, short, units.HumanSize(size))
	default:
		fmt.Fprintf(l.w, "%s %s: downloading %s\n", label, short, units.HumanSize(size))
	}
}

func (l *Lines) Add(digest.Digest, int64) {}

func (l *Lines) Done(d digest.Digest, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		fmt.Fprintf(l.w, "%s: failed: %v\n", units.ShortDigest(d.String()), err)
		return
	}
	if _, ok := l.size[d]; ok {
		fmt.Fprintf(l.w, "%s: done\n", units.ShortDigest(d.String()))
	}
}

func (l *Lines) Wait() {}
