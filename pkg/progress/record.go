package progress

import (
	"strings"
	"sync"

	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/opencontainers/go-digest"
)

var _ image.Progress = (*Record)(nil)

// Blob is what a pull did with one blob (`pull --json`).
type Blob struct {
	Digest digest.Digest `json:"digest"`
	// Kind is "config" or "layer".
	Kind string `json:"kind"`
	Size int64  `json:"size"`
	// Status is "downloaded", "resumed" (a partial download continued
	// from Offset) or "stored" (already in the store: nothing fetched).
	Status string `json:"status"`
	Offset int64  `json:"offset"`
	// Downloaded is the bytes that came over the network.
	Downloaded int64 `json:"downloaded"`
	// Error is why the blob failed, empty when it did not.
	Error string `json:"error,omitempty"`
}

// Blob statuses.
const (
	StatusDownloaded = "downloaded"
	StatusResumed    = "resumed"
	StatusStored     = "stored"
)

// Record keeps every blob's events, in the order they started, for a
// machine-readable report; it prints nothing.
type Record struct {
	mu    sync.Mutex
	blobs []Blob
	index map[digest.Digest]int
}

// NewRecord returns an empty recorder.
func NewRecord() *Record { return &Record{index: map[digest.Digest]int{}} }

func (r *Record) Start(d digest.Digest, label string, size, offset int64, ev image.Event) {
	kind, _, _ := strings.Cut(label, " ") // "layer 2/3" -> "layer"
	b := Blob{Digest: d, Kind: kind, Size: size, Status: StatusDownloaded, Offset: offset}
	switch ev {
	case image.Resumed:
		b.Status = StatusResumed
	case image.Exists:
		b.Status, b.Offset = StatusStored, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.index[d] = len(r.blobs)
	r.blobs = append(r.blobs, b)
}

func (r *Record) Add(d digest.Digest, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i, ok := r.index[d]; ok {
		r.blobs[i].Downloaded += n
	}
}

func (r *Record) Done(d digest.Digest, err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if i, ok := r.index[d]; ok {
		r.blobs[i].Error = err.Error()
	}
}

func (r *Record) Wait() {}

// Blobs returns the blobs recorded so far, in the order they started.
func (r *Record) Blobs() []Blob {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Blob{}, r.blobs...)
}
