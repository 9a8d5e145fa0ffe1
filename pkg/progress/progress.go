package progress

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/opencontainers/go-digest"
	"golang.org/x/term"
)

// Event says how a blob transfer began.
type Event int

const (
	// Fetching is a download from byte zero.
	Fetching Event = iota
	// Resumed is a download that continues a partial file.
	Resumed
	// Exists is a blob already in the store: nothing is downloaded.
	Exists
)

// Reporter receives transfer events. Implementations are safe for
// concurrent use: layers download in parallel.
type Reporter interface {
	// Start announces a blob of size bytes; offset is where the download begins.
	Start(d digest.Digest, label string, size, offset int64, ev Event)
	// Add counts n more bytes of d.
	Add(d digest.Digest, n int64)
	// Done closes d; err is nil on success.
	Done(d digest.Digest, err error)
	// Wait flushes output; call it once after the last Done.
	Wait()
}

// Auto picks bars for a terminal and plain lines otherwise (CI=true, pipes,
// files). quiet selects a reporter that prints nothing.
func Auto(w io.Writer, quiet bool) Reporter {
	if quiet {
		return Nop{}
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && os.Getenv("CI") == "" {
		return NewBars(w)
	}
	return NewLines(w)
}

// Nop reports nothing.
type Nop struct{}

func (Nop) Start(digest.Digest, string, int64, int64, Event) {}
func (Nop) Add(digest.Digest, int64)                         {}
func (Nop) Done(digest.Digest, error)                        {}
func (Nop) Wait()                                            {}

// Lines prints one line when a blob starts and one when it ends.
type Lines struct {
	mu   sync.Mutex
	w    io.Writer
	size map[digest.Digest]int64
}

// NewLines returns a plain-line reporter writing to w.
func NewLines(w io.Writer) *Lines { return &Lines{w: w, size: map[digest.Digest]int64{}} }

func (l *Lines) Start(d digest.Digest, label string, size, offset int64, ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.size[d] = size
	short := units.ShortDigest(d.String())
	switch ev {
	case Exists:
		delete(l.size, d) // nothing to finish: Done prints nothing for it
		fmt.Fprintf(l.w, "%s %s: exists (%s)\n", label, short, units.HumanSize(size))
		return
	case Resumed:
		fmt.Fprintf(l.w, "%s %s: resuming at %s of %s\n", label, short, units.HumanSize(offset), units.HumanSize(size))
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
