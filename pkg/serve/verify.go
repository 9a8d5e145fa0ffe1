package serve

import (
	"context"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/ctrlite/ctr-lite/pkg/content"
)

// fileID identifies one version of a file: a blob rewritten or replaced
// (by fsck --repair, or by hand) is hashed again.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    time.Time
	ctime    syscall.Timespec
}

// verified remembers which blob files hashed to their digest.
type verified struct {
	mu sync.Mutex
	ok map[digest.Digest]fileID
}

func newVerified() *verified { return &verified{ok: map[digest.Digest]fileID{}} }

// open opens the committed blob d and checks that its bytes hash to d,
// once per version of the file; the returned file is at offset 0.
func (h *handler) open(ctx context.Context, d digest.Digest) (*os.File, error) {
	f, err := h.st.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	id, err := identify(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	h.verified.mu.Lock()
	known, ok := h.verified.ok[d]
	h.verified.mu.Unlock()
	if ok && known == id {
		return f, nil
	}
	v := d.Verifier()
	if _, err := io.Copy(v, content.ContextReader(ctx, f)); err != nil {
		f.Close()
		return nil, fmt.Errorf("verify blob %s: %w", d, err)
	}
	if !v.Verified() {
		f.Close()
		return nil, fmt.Errorf("blob %s: stored bytes do not match the digest: %w", d, errdefs.ErrDigestMismatch)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	h.verified.mu.Lock()
	h.verified.ok[d] = id
	h.verified.mu.Unlock()
	return f, nil
}

func identify(f *os.File) (fileID, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileID{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, fmt.Errorf("no file identity")
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino, size: fi.Size(), mtime: fi.ModTime(), ctime: st.Ctim}, nil
}
