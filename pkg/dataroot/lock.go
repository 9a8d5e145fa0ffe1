package dataroot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Mode is how a lock is held.
type Mode int

// Lock modes: many Shared holders, or one Exclusive holder.
const (
	Exclusive Mode = unix.LOCK_EX
	Shared    Mode = unix.LOCK_SH
)

// pollEvery is how often a blocked lock attempt retries.
const pollEvery = 20 * time.Millisecond

// LockFile takes an flock on path, creating the file, and waits until it
// is free or ctx ends. The lock is kept only when the locked inode is still
// the one at path, so a holder may unlink the file on release without a
// waiter ending up holding a lock on a file nobody else can see.
//
// On a read-only file system an existing lock file is locked read-only
// (flock does not need write access), and a missing one cannot be taken
// by anybody writing through this mount: the lock is then a no-op.
func LockFile(ctx context.Context, path string, mode Mode) (unlock func(), err error) {
	for {
		f, err := openLock(path)
		if errors.Is(err, errNoLockFile) {
			return func() {}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if err := flockWait(ctx, f, mode); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if sameFile(f, path) {
			return func() { f.Close() }, nil
		}
		f.Close() // removed under us by its previous holder: retry on the new file
	}
}

// TryLockFile is LockFile without waiting: ok is false when it is held.
// With create false a missing file is reported free (ok true) with no lock
// taken and a no-op unlock.
func TryLockFile(path string, mode Mode, create bool) (unlock func(), ok bool, err error) {
	flags := os.O_RDWR | unix.O_CLOEXEC
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if !create && errors.Is(err, os.ErrNotExist) {
		return func() {}, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), int(mode)|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	if !sameFile(f, path) {
		f.Close()
		return nil, false, nil
	}
	return func() { f.Close() }, true, nil
}

// errNoLockFile: the lock file is missing and cannot be made (read-only).
var errNoLockFile = errors.New("no lock file on a read-only file system")

// openLock opens (creating) a lock file, read-only where the file system is.
func openLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil || !readOnly(path) {
		return f, err
	}
	f, err = os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoLockFile
	}
	return f, err
}

// readOnly reports whether path, or its nearest existing ancestor, is on
// a file system mounted read-only.
func readOnly(path string) bool {
	for p := path; ; p = filepath.Dir(p) {
		var st unix.Statfs_t
		err := unix.Statfs(p, &st)
		if err == nil {
			return st.Flags&unix.ST_RDONLY != 0
		}
		if p == filepath.Dir(p) || !errors.Is(err, unix.ENOENT) {
			return false
		}
	}
}

func flockWait(ctx context.Context, f *os.File, mode Mode) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		err := unix.Flock(int(f.Fd()), int(mode)|unix.LOCK_NB)
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

// Locks is one part's lock namespace: <root>/locks/<part>/<name>.
type Locks struct {
	dir string
}

// Locks returns part's lock namespace.
func (r *Root) Locks(part string) Locks { return Locks{dir: filepath.Join(r.dir, "locks", part)} }

// path checks name and makes the namespace's directory.
func (l Locks) path(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", fmt.Errorf("lock %w", err)
	}
	if err := os.MkdirAll(l.dir, 0o700); err != nil && !errors.Is(err, unix.EROFS) {
		return "", fmt.Errorf("lock %s: %w", name, err)
	}
	return filepath.Join(l.dir, name), nil
}

// Lock takes the exclusive lock name, waiting until it is free or ctx ends.
func (l Locks) Lock(ctx context.Context, name string) (unlock func(), err error) {
	p, err := l.path(name)
	if err != nil {
		return nil, err
	}
	return LockFile(ctx, p, Exclusive)
}

// Held reports whether some process holds the lock name. A lock nobody
// holds has its file removed.
func (l Locks) Held(name string) bool {
	if checkName(name) != nil {
		return false
	}
	p := filepath.Join(l.dir, name)
	unlock, ok, err := TryLockFile(p, Exclusive, false)
	if err != nil || !ok {
		return true
	}
	os.Remove(p)
	unlock()
	return false
}

// Lease keeps gc away until release is called: it holds the gc lock
// shared. Hold one for the whole of a pull, import, unpack or run, from the
// first thing written to the last name or record that keeps it.
func (r *Root) Lease(ctx context.Context) (release func(), err error) {
	p, err := r.gcLock()
	if err != nil {
		return nil, err
	}
	return LockFile(ctx, p, Shared)
}

// Collecting holds the gc lock exclusively: it waits for every lease to
// be released and keeps new leases waiting until done is called.
func (r *Root) Collecting(ctx context.Context) (done func(), err error) {
	p, err := r.gcLock()
	if err != nil {
		return nil, err
	}
	return LockFile(ctx, p, Exclusive)
}

func (r *Root) gcLock() (string, error) {
	d := filepath.Join(r.dir, "locks")
	if err := os.MkdirAll(d, 0o700); err != nil && !errors.Is(err, unix.EROFS) {
		return "", fmt.Errorf("lock gc: %w", err)
	}
	return filepath.Join(d, "gc"), nil
}
