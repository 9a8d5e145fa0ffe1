package image

import "github.com/opencontainers/go-digest"

// Event says how a blob transfer began.
type Event int

const (
	// Fetching is a download from byte zero.
	Fetching Event = iota
	// Resumed is a download that continues a partial ingest.
	Resumed
	// Exists is a blob already in the store (or, for an upload, at the
	// destination): nothing is transferred.
	Exists
	// Uploading is an upload (push, copy) from byte zero.
	Uploading
)

// Progress receives a pull's (or a push's) transfer events (pkg/progress draws them).
// Implementations are safe for concurrent use: layers download in parallel.
type Progress interface {
	// Start announces a blob of size bytes; offset is where the download begins.
	Start(d digest.Digest, label string, size, offset int64, ev Event)
	// Add counts n more bytes of d.
	Add(d digest.Digest, n int64)
	// Done closes d; err is nil on success.
	Done(d digest.Digest, err error)
	// Wait flushes output; it is called once after the last Done.
	Wait()
}

// NoProgress reports nothing; it is the default.
type NoProgress struct{}

func (NoProgress) Start(digest.Digest, string, int64, int64, Event) {}
func (NoProgress) Add(digest.Digest, int64)                         {}
func (NoProgress) Done(digest.Digest, error)                        {}
func (NoProgress) Wait()                                            {}
