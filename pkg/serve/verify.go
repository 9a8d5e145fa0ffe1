package serve

import (
	"context"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"golang.org/x/sync/singleflight"
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
	// group makes concurrent first requests for one blob (peers pulling
	// the same layer) share one hash of it.
	group singleflight.Group
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
	// One hash per file version however many ask at once: it runs on its
	// own open of the blob, so no caller's cancel or offset affects it.
	_, err, _ = h.verified.group.Do(d.String(), func() (any, error) {
		return nil, h.verify(context.WithoutCancel(ctx), d)
	})
	if err == nil {
		h.verified.mu.Lock()
		known, ok = h.verified.ok[d]
		h.verified.mu.Unlock()
		if !ok || known != id {
			err = fmt.Errorf("blob %s changed while it was verified", d)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// verify hashes the committed blob d and records its file version as good.
func (h *handler) verify(ctx context.Context, d digest.Digest) error {
	f, err := h.st.Open(ctx, d)
	if err != nil {
		return err
	}
	defer f.Close()
	id, err := identify(f)
	if err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	v := d.Verifier()
	if _, err := io.Copy(v, content.ContextReader(ctx, f)); err != nil {
		return fmt.Errorf("verify blob %s: %w", d, err)
	}
	if !v.Verified() {
		return fmt.Errorf("blob %s: stored bytes do not match the digest: %w", d, errdefs.ErrDigestMismatch)
	}
	h.verified.mu.Lock()
	h.verified.ok[d] = id
	h.verified.mu.Unlock()
	return nil
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
