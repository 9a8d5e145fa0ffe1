package content

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// flockPoll is how often a blocked lock attempt retries.
const flockPoll = 20 * time.Millisecond

// lockFile takes a flock (unix.LOCK_EX or unix.LOCK_SH) on path, creating
// it, waiting until it is free or ctx ends. It guards against the file being
// unlinked and recreated while we waited: the lock is only kept when the
// locked inode is still the one at path.
func lockFile(ctx context.Context, path string, how int) (func(), error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if err := flockWait(ctx, f, how); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if sameFile(f, path) {
			return func() { f.Close() }, nil
		}
		f.Close() // removed under us by its previous holder: retry on the new file
	}
}

// tryLockFile is lockFile without waiting; ok is false when it is held.
func tryLockFile(path string, how int) (release func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	if !sameFile(f, path) {
		f.Close()
		return nil, false, nil
	}
	return func() { f.Close() }, true, nil
}

func flockWait(ctx context.Context, f *os.File, how int) error {
	t := time.NewTicker(flockPoll)
	defer t.Stop()
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	if err != nil {
		return false
	}
	return os.SameFile(a, b)
}

// Lock takes the exclusive lock <root>/locks/<name>, waiting until it is
// free or ctx ends. Other packages (snapshots) share it for their own state.
// The store itself uses "index" (index.json rewrites) and "gc" (leases).
func (s *Store) Lock(ctx context.Context, name string) (unlock func(), err error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return nil, fmt.Errorf("lock %q: invalid lock name", name)
	}
	return lockFile(ctx, filepath.Join(s.root, "locks", name), unix.LOCK_EX)
}

// Lease keeps gc away until release is called: it holds a shared lock on
// <root>/locks/gc, which GC takes exclusively. Hold one for the whole of a
// pull, import or tag, from the first blob written to the name set.
func (s *Store) Lease(ctx context.Context) (release func(), err error) {
	return lockFile(ctx, s.gcLock(), unix.LOCK_SH)
}

func (s *Store) gcLock() string { return filepath.Join(s.root, "locks", "gc") }
