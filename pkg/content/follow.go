package content

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// ErrAbandoned: a blob being followed is no longer being downloaded.
var ErrAbandoned = errors.New("blob is not being downloaded")

// abandonAfter is how long a follower waits without new bytes before it
// checks whether anybody still holds the blob's ingest lock: longer than
// a pull's pause between two attempts at one blob.
var abandonAfter = 5 * time.Second

// Follow returns a blob's bytes as they arrive, so a layer can be unpacked
// while it downloads. A committed blob is simply opened. Otherwise it reads
// the ingest file that a writer (this process or another) is filling,
// waiting at its end until desc.Size bytes have come. It fails when the
// partial is discarded (bad digest) or nobody holds its lock any more.
//
// The bytes are NOT verified: the caller must check what it derives from
// them (an unpacked layer's diffID against the config) and may trust the
// result only once the writer has committed the blob.
func (s *Store) Follow(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	for {
		if f, err := s.Open(ctx, desc.Digest); err == nil {
			return f, nil
		}
		f, err := os.Open(s.ingestPath(desc.Digest))
		if err == nil {
			return &follower{s: s, ctx: ctx, f: f, desc: desc}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("follow %s: %w", desc.Digest, err)
		}
		if err := pause(ctx, time.Millisecond); err != nil {
			return nil, fmt.Errorf("follow %s: %w", desc.Digest, err)
		}
	}
}

type follower struct {
	s     *Store
	ctx   context.Context
	f     *os.File
	desc  ocispec.Descriptor
	off   int64
	idle  time.Duration
	delay time.Duration
}

func (r *follower) Read(p []byte) (int, error) {
	if rest := r.desc.Size - r.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	if len(p) == 0 {
		return 0, io.EOF
	}
	for {
		// Take the wake-up channel before reading, so a write that lands
		// between the read and the wait is not missed.
		grown := writes.wait(r.desc.Digest)
		n, err := r.f.ReadAt(p, r.off)
		if n > 0 {
			r.off += int64(n)
			r.idle, r.delay = 0, 0
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("follow %s: %w", r.desc.Digest, err)
		}
		if err := r.wait(grown); err != nil {
			return 0, err
		}
	}
}

// wait blocks until a writer in this process adds bytes, or a poll
// interval (backing off to 20ms, for writers in other processes) passes,
// and checks now and then that somebody is still writing the blob.
func (r *follower) wait(grown <-chan struct{}) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(r.f.Fd()), &st); err == nil && st.Nlink == 0 {
		if _, err := r.s.Info(r.ctx, r.desc.Digest); err != nil {
			return fmt.Errorf("follow %s: download discarded: %w", r.desc.Digest, ErrAbandoned)
		}
	}
	r.delay = min(max(2*r.delay, 500*time.Microsecond), 20*time.Millisecond)
	r.idle += r.delay
	if r.idle >= abandonAfter {
		r.idle = 0
		if unlock, ok, _ := dataroot.TryLockFile(r.s.ingestPath(r.desc.Digest)+".lock", dataroot.Exclusive, false); ok {
			unlock()
			if _, err := r.s.Info(r.ctx, r.desc.Digest); err != nil {
				return fmt.Errorf("follow %s: %w", r.desc.Digest, ErrAbandoned)
			}
		}
	}
	t := time.NewTimer(r.delay)
	defer t.Stop()
	select {
	case <-grown:
		r.idle -= r.delay
	case <-t.C:
	case <-r.ctx.Done():
		return fmt.Errorf("follow %s: %w", r.desc.Digest, r.ctx.Err())
	}
	return nil
}

// writes wakes followers in this process when a Writer adds bytes.
var writes = &notifier{ch: map[digest.Digest]chan struct{}{}}

type notifier struct {
	mu sync.Mutex
	ch map[digest.Digest]chan struct{}
}

// wait returns a channel closed at the next notify for d.
func (n *notifier) wait(d digest.Digest) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.ch[d]
	if !ok {
		c = make(chan struct{})
		n.ch[d] = c
	}
	return c
}

// notify wakes everyone waiting for d; it costs a map lookup when nobody is.
func (n *notifier) notify(d digest.Digest) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.ch[d]; ok {
		close(c)
		delete(n.ch, d)
	}
}

func (r *follower) Close() error { return r.f.Close() }

func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
