package content

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// Writer writes one blob into the store. It holds the blob's ingest lock
// from Store.Writer until Close, so exactly one process writes a given
// blob at a time. Its partial file survives crashes and is resumed.
type Writer struct {
	s         *Store
	desc      ocispec.Descriptor
	f         *os.File
	h         hash.Hash
	off       int64
	unlock    func()
	committed bool
	closed    bool
	discarded bool // the partial was deleted: this writer is spent
}

// Writer opens the ingest for desc, waiting (until ctx ends) for any other
// writer of the same blob. When the blob is already committed, before or
// after the wait, it returns errdefs.ErrExists, or errdefs.ErrSizeMismatch when the stored
// blob's size is not desc.Size. desc.Size must be the exact size.
// Existing partial bytes are re-hashed: Offset tells where to resume.
func (s *Store) Writer(ctx context.Context, desc ocispec.Descriptor) (*Writer, error) {
	if err := checkDigest(desc.Digest); err != nil {
		return nil, err
	}
	if desc.Size < 0 {
		return nil, fmt.Errorf("write %s: negative size %d: %w", desc.Digest, desc.Size, errdefs.ErrSizeMismatch)
	}
	if err := s.committed(ctx, desc); err != nil {
		return nil, fmt.Errorf("write %s: %w", desc.Digest, err)
	}
	unlock, err := dataroot.LockFile(ctx, s.ingestPath(desc.Digest)+".lock", dataroot.Exclusive)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", desc.Digest, err)
	}
	if err := s.committed(ctx, desc); err != nil {
		os.Remove(s.ingestPath(desc.Digest) + ".lock") // we hold it: nobody else can be using it
		unlock()
		return nil, fmt.Errorf("write %s: %w", desc.Digest, err)
	}
	w := &Writer{s: s, desc: desc, h: sha256.New(), unlock: unlock}
	if err := w.openPartial(); err != nil {
		unlock()
		return nil, fmt.Errorf("write %s: %w", desc.Digest, err)
	}
	return w, nil
}

// committed returns errdefs.ErrExists when desc's blob is stored with desc's size,
// errdefs.ErrSizeMismatch when it is stored with another, nil when it is absent.
func (s *Store) committed(ctx context.Context, desc ocispec.Descriptor) error {
	in, err := s.Info(ctx, desc.Digest)
	if err != nil {
		return nil
	}
	if in.Size != desc.Size {
		return fmt.Errorf("stored blob has %d bytes, descriptor says %d: %w", in.Size, desc.Size, errdefs.ErrSizeMismatch)
	}
	return errdefs.ErrExists
}

// openPartial opens the partial file and hashes what it already holds.
// A partial longer than the blob can only be garbage: it is truncated.
func (w *Writer) openPartial() error {
	f, err := os.OpenFile(w.s.ingestPath(w.desc.Digest), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if fi.Size() > w.desc.Size {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return err
		}
	}
	n, err := io.Copy(w.h, f) // leaves the offset at the end
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.off = f, n
	return nil
}

// Offset is the number of bytes already present: resume from here.
func (w *Writer) Offset() int64 { return w.off }

// Digest is the expected digest.
func (w *Writer) Digest() digest.Digest { return w.desc.Digest }

// Write appends p. Writing past the descriptor's size discards the partial
// and fails with errdefs.ErrSizeMismatch. A full disk surfaces as an error
// wrapping syscall.ENOSPC; the bytes written so far stay resumable.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed || w.committed || w.discarded {
		return 0, fmt.Errorf("write %s: writer closed", w.desc.Digest)
	}
	if w.off+int64(len(p)) > w.desc.Size {
		w.discard()
		return 0, fmt.Errorf("write %s: more than %d bytes: %w", w.desc.Digest, w.desc.Size, errdefs.ErrSizeMismatch)
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.off += int64(n)
	writes.notify(w.desc.Digest)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", w.desc.Digest, err)
	}
	return n, nil
}

// ReadFrom copies r into the blob (io.Copy uses it).
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 128<<10)
	var total int64
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			m, err := w.Write(buf[:n])
			total += int64(m)
			if err != nil {
				return total, err
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, fmt.Errorf("read source of %s: %w", w.desc.Digest, rerr)
		}
	}
}

// Reset empties the partial (for a registry that ignored a Range request).
func (w *Writer) Reset() error {
	if w.closed || w.committed || w.discarded {
		return fmt.Errorf("reset %s: writer closed", w.desc.Digest)
	}
	if err := w.f.Truncate(0); err != nil {
		return fmt.Errorf("reset %s: %w", w.desc.Digest, err)
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reset %s: %w", w.desc.Digest, err)
	}
	w.h.Reset()
	w.off = 0
	return nil
}

// discard drops the partial's bytes (the lock stays held until Close).
func (w *Writer) discard() {
	w.f.Truncate(0)
	w.discarded = true
	os.Remove(w.s.ingestPath(w.desc.Digest))
	writes.notify(w.desc.Digest)
}

// Commit verifies size and sha256, syncs the data and renames it into
// blobs/sha256. On a digest mismatch the partial is deleted, so bad bytes
// never survive; a short blob keeps its partial for a later resume.
func (w *Writer) Commit(ctx context.Context) error {
	d := w.desc.Digest
	if w.closed || w.committed || w.discarded {
		return fmt.Errorf("commit %s: writer closed", d)
	}
	if w.off != w.desc.Size {
		return fmt.Errorf("commit %s: have %d of %d bytes: %w", d, w.off, w.desc.Size, errdefs.ErrSizeMismatch)
	}
	if got := digest.NewDigest(digest.SHA256, w.h); got != d {
		w.discard()
		return fmt.Errorf("commit %s: content hashes to %s: %w", d, got, errdefs.ErrDigestMismatch)
	}
	if err := w.f.Chmod(0o444); err != nil {
		return fmt.Errorf("commit %s: %w", d, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("commit %s: %w", d, err)
	}
	dst := w.s.blobPath(d)
	if err := os.Rename(w.s.ingestPath(d), dst); err != nil {
		return fmt.Errorf("commit %s: %w", d, err)
	}
	w.committed = true
	if err := SyncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("commit %s: %w", d, err)
	}
	SyncDir(filepath.Dir(w.s.ingestPath(d)))
	return nil
}

// Close releases the lock; an uncommitted partial is kept for resume.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.f.Close()
	if w.committed {
		// Nobody else can be writing this blob now: drop the lock file.
		os.Remove(w.s.ingestPath(w.desc.Digest) + ".lock")
	}
	w.unlock()
	writes.notify(w.desc.Digest) // followers re-check: committed, or abandoned
	if err != nil && !errors.Is(err, fs.ErrClosed) {
		return fmt.Errorf("close %s: %w", w.desc.Digest, err)
	}
	return nil
}

// WriteBlob stores r's bytes as desc. Any partial left by an earlier
// attempt is dropped first: r is a full copy, and re-reading a local
// source is cheaper than trusting old bytes. A blob already present is
// not an error.
func (s *Store) WriteBlob(ctx context.Context, desc ocispec.Descriptor, r io.Reader) error {
	w, err := s.Writer(ctx, desc)
	if errors.Is(err, errdefs.ErrExists) {
		return nil
	}
	if err != nil {
		return err
	}
	defer w.Close()
	if w.Offset() > 0 {
		if err := w.Reset(); err != nil {
			return err
		}
	}
	if _, err := io.Copy(w, ContextReader(ctx, r)); err != nil {
		return err // already names the blob
	}
	return w.Commit(ctx)
}

// ContextReader returns r that fails with ctx's error once ctx ends, so a
// long copy stops on Ctrl-C.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return &ctxReader{ctx: ctx, r: r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
