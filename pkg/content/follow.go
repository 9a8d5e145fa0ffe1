package content

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/gofrs/flock"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// ErrAbandoned: a blob being followed is no longer being downloaded.
var ErrAbandoned = errors.New("blob is not being downloaded")

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
		n, err := r.f.ReadAt(p, r.off)
		if n > 0 {
			r.off += int64(n)
			r.idle, r.delay = 0, 0
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("follow %s: %w", r.desc.Digest, err)
		}
		if err := r.wait(); err != nil {
			return 0, err
		}
	}
}

// wait sleeps until the file may have grown, backing off to 20ms, and
// checks now and then that somebody is still writing it.
func (r *follower) wait() error {
	var st unix.Stat_t
	if err := unix.Fstat(int(r.f.Fd()), &st); err == nil && st.Nlink == 0 {
		if _, err := r.s.Info(r.ctx, r.desc.Digest); err != nil {
			return fmt.Errorf("follow %s: download discarded: %w", r.desc.Digest, ErrAbandoned)
		}
	}
	r.delay = min(max(2*r.delay, 500*time.Microsecond), 20*time.Millisecond)
	r.idle += r.delay
	if r.idle >= time.Second {
		r.idle = 0
		l := flock.New(r.s.ingestPath(r.desc.Digest) + ".lock")
		if ok, _ := l.TryLock(); ok {
			l.Unlock()
			if _, err := r.s.Info(r.ctx, r.desc.Digest); err != nil {
				return fmt.Errorf("follow %s: %w", r.desc.Digest, ErrAbandoned)
			}
		}
	}
	if err := pause(r.ctx, r.delay); err != nil {
		return fmt.Errorf("follow %s: %w", r.desc.Digest, err)
	}
	return nil
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
