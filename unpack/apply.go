package unpack

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/compression"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

const (
	whPrefix = ".wh."
	whOpaque = ".wh..wh..opq"
	whMeta   = ".wh..wh."
)

// ApplyLayer decompresses r (gzip, zstd or plain, by mediaType and magic
// bytes), applies the tar stream onto dir and returns the sha256 of the
// uncompressed stream (the layer's diffID). The stream is read to its end,
// so the digest covers all of it.
func ApplyLayer(ctx context.Context, dir string, r io.Reader, mediaType string, opts Options) (digest.Digest, Stats, error) {
	rc, _, err := compression.Decompress(r, mediaType)
	if err != nil {
		return "", Stats{}, fmt.Errorf("apply layer: %w", err)
	}
	defer rc.Close()
	var src io.Reader = rc
	if opts.Budget != nil {
		src = budgetReader{r: rc, b: opts.Budget}
	}
	h := sha256.New()
	// The diffID is hashed where the bytes are made, beside decompression:
	// the applying side hands files to workers and reads on.
	pf := newPrefetcher(ctx, io.TeeReader(src, h))
	defer pf.Close()
	st, err := Apply(ctx, dir, pf, opts)
	if err != nil {
		return "", st, err
	}
	_, err = io.Copy(io.Discard, pf) // io.Discard reads with its own pooled buffer
	if err != nil {
		return "", st, fmt.Errorf("apply layer: drain: %w", err)
	}
	pf.Close()
	return digest.NewDigest(digest.SHA256, h), st, nil
}

// Apply applies one uncompressed tar stream onto dir, confined to dir.
func Apply(ctx context.Context, dir string, r io.Reader, opts Options) (Stats, error) {
	a, err := newApplier(dir, opts)
	if err != nil {
		return Stats{}, err
	}
	defer a.close()
	err = a.run(ctx, r)
	if a.pool != nil {
		// A worker's failure is an earlier entry's than any of Apply's own.
		perr := a.pool.close()
		a.st.Files += a.pool.files
		a.st.Bytes += a.pool.bytes
		var ee *EntryError
		if perr != nil && (err == nil || errors.Is(err, errPoolFailed) || errors.As(perr, &ee)) {
			err = perr
		}
	}
	if err != nil {
		return a.st, err
	}
	if err := a.finish(); err != nil {
		return a.st, err
	}
	return a.st, nil
}

func (a *applier) run(ctx context.Context, r io.Reader) error {
	tr := newTarReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, tar.ErrFieldTooLong) {
				err = fmt.Errorf("%w: %w", ErrLimit, err)
			}
			return fmt.Errorf("read layer: %w", err)
		}
		a.st.Entries++
		if a.root.dirty || len(a.root.cache) > maxCachedDirs {
			if err := a.barrier(); err != nil {
				return err
			}
			if a.root.dirty {
				// A directory or symlink went: what was made where is
				// no longer known.
				clear(a.fresh)
				clear(a.taken)
			}
			a.root.flush()
		}
		if err := a.entry(ctx, hdr, tr.Body()); err != nil {
			return &EntryError{Name: hdr.Name, Op: "apply", Err: err}
		}
	}
	return a.barrier()
}

// applier holds the state of one Apply.
type applier struct {
	opts   Options
	root   *root
	buf    []byte  // file content passes through it (a prefetcher hands out at most chunkSize at a time)
	lowers []*root // opened lazily, same order as opts.Lowers
	st     Stats
	euid   int
	egid   int
	// layer maps in-root paths this layer created (flagCreated), the
	// directories above them (flagAncestor) and the paths it whited out
	// (flagWhiteout): whiteouts and opaque markers only hide what lower
	// layers put there.
	layer map[string]uint8
	// dirs holds directories whose mtime (and, rootless, mode) is set at
	// the end, after their contents; index by path in dirIdx.
	dirs   []dirMeta
	dirIdx map[string]int
	// lowerInodes indexes the hardlinks of lower layers (built on the
	// first copy-up of a hardlinked file).
	lowerInodes map[int]map[uint64][]string
	// flatEmpty: a Flat apply onto an empty directory. Nothing there is
	// a lower layer's, so whiteouts and opaque markers hide nothing and
	// the layer map is not kept.
	flatEmpty bool
	// pool creates small files in fresh directories (nil until the first).
	pool *pool
	// fresh holds the directories this Apply made (and the target, when
	// it was empty): all they hold is this layer's. taken holds the names
	// of what this Apply made in any directory that is not a regular
	// file; a file in a fresh directory whose name is not taken can only
	// replace a regular file, so a worker may create it.
	fresh map[dirID]bool
	taken map[nameKey]struct{}
}

type dirMeta struct {
	path  string
	mode  uint32 // 0: leave as is
	atime unix.Timespec
	mtime unix.Timespec
}

const (
	flagCreated  = 1
	flagAncestor = 2
	flagWhiteout = 4
)

func newApplier(dir string, opts Options) (*applier, error) {
	r, err := openRoot(dir)
	if err != nil {
		return nil, err
	}
	a := &applier{
		opts: opts, root: r, buf: make([]byte, chunkSize), euid: os.Geteuid(), egid: os.Getegid(),
		layer: map[string]uint8{}, dirIdx: map[string]int{},
		lowers: make([]*root, len(opts.Lowers)),
		fresh:  map[dirID]bool{}, taken: map[nameKey]struct{}{},
	}
	if isEmptyDir(r.fd) {
		if i, err := r.info(r.fd); err == nil {
			a.fresh[i.id] = true
			a.flatEmpty = opts.Mode == Flat
		}
	}
	return a, nil
}

// isEmptyDir reports whether the directory at fd has no entries.
func isEmptyDir(fd int) bool {
	dfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	f := os.NewFile(uintptr(dfd), ".")
	defer f.Close()
	_, err = f.Readdirnames(1)
	return err == io.EOF
}

// barrier waits for the files handed to workers.
func (a *applier) barrier() error {
	if a.pool == nil {
		return nil
	}
	return a.pool.barrier()
}

// made records that this Apply made base, anything but a regular file, in
// the directory pfd.
func (a *applier) made(pfd int, base string) {
	id, err := a.root.idOf(pfd)
	if err != nil {
		clear(a.fresh) // unknown: no file goes to a worker from now
		return
	}
	a.taken[nameKey{id, base}] = struct{}{}
}

// freshName reports whether base in pfd is a name no file in flight
// depends on: nothing or a regular file (not in flight) in a fresh
// directory. What clear removes there it removes after a barrier.
func (a *applier) freshName(pfd int, base string) bool {
	if a.pool == nil {
		return true
	}
	i, err := a.root.info(pfd)
	if err != nil || !a.fresh[i.id] {
		return false
	}
	k := nameKey{i.id, base}
	if _, ok := a.taken[k]; ok {
		return false
	}
	return !a.pool.inFlight(k)
}

// madeDir records that this Apply made the directory base in pfd, open as fd.
func (a *applier) madeDir(pfd int, base string, fd int) {
	a.made(pfd, base)
	if id, err := a.root.idOf(fd); err == nil {
		a.fresh[id] = true
	}
}

func (a *applier) close() {
	if a.pool != nil {
		a.pool.close()
	}
	a.root.close()
	for _, l := range a.lowers {
		if l != nil {
			l.close()
		}
	}
}

func (a *applier) skipped(s Skip) {
	if a.opts.Skipped != nil {
		a.opts.Skipped(s)
	}
}

// ownerSkipped reports a rootless entry whose layer owner is not the
// caller's: the entry is the caller's now.
func (a *applier) ownerSkipped(hdr *tar.Header, name string) {
	if a.opts.Rootless && (hdr.Uid != a.euid || hdr.Gid != a.egid) {
		a.skipped(Skip{Path: name, Kind: SkipOwner, Detail: fmt.Sprintf("%d:%d", hdr.Uid, hdr.Gid),
			Reason: "rootless: files are owned by the caller"})
	}
}

// unmapped reports (and accepts) a chown that failed in a user namespace
// because the layer's uid or gid is not mapped there (EINVAL): the entry
// keeps the namespace root's owner.
func (a *applier) unmapped(err error, hdr *tar.Header, name string) bool {
	if !a.opts.UserNS || err != unix.EINVAL {
		return false
	}
	a.skipped(Skip{Path: name, Kind: SkipOwner, Detail: fmt.Sprintf("%d:%d", hdr.Uid, hdr.Gid),
		Reason: "user namespace: the id is not mapped (no subordinate id range covers it)"})
	return true
}

// markCreated records that this layer created p.
func (a *applier) markCreated(p string) {
	if a.flatEmpty {
		return
	}
	a.layer[p] |= flagCreated
	for {
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = p[:i]
		if a.layer[p]&flagAncestor != 0 {
			return
		}
		a.layer[p] |= flagAncestor
	}
	if p != "" {
		a.layer[""] |= flagAncestor
	}
}

// entry applies one tar header.
func (a *applier) entry(ctx context.Context, hdr *tar.Header, tr io.Reader) error {
	name, err := splitName(hdr.Name)
	if err != nil {
		return err
	}
	if err := checkHeader(hdr); err != nil {
		return err
	}
	parent, base := parentBase(name)
	if strings.HasPrefix(base, whPrefix) {
		return a.whiteout(parent, base)
	}
	if name == "" {
		if err := a.barrier(); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%s entry names the root: %w", typeName(hdr.Typeflag), ErrUnsafePath)
		}
		return a.directory(hdr, "", a.root.fd, ".")
	}
	if parent, err = a.mergedPath(parent); err != nil {
		return fmt.Errorf("parent %q: %w", "/"+parent, err)
	}
	pfd, err := a.mkdirAll(parent)
	if err != nil {
		return fmt.Errorf("parent %q: %w", "/"+parent, err)
	}
	if hdr.Typeflag == tar.TypeLink {
		// Its target may be a file in flight.
		if err := a.barrier(); err != nil {
			return err
		}
		a.markCreated(name)
		return a.hardlink(hdr, name, pfd, base)
	}
	switch hdr.Typeflag {
	case tar.TypeReg, '\x00', tar.TypeGNUSparse, tar.TypeCont: // '\x00': old-style regular file
		// No look first: file creates exclusively and clears what is
		// there only when that fails, so a fresh directory costs nothing.
		a.markCreated(name)
		return a.file(ctx, hdr, name, pfd, base, tr)
	}
	if !a.freshName(pfd, base) {
		// It may see or change what a worker does: a file of that name
		// in flight, a directory whose files are.
		if err := a.barrier(); err != nil {
			return err
		}
	}
	if err := a.clear(pfd, base, hdr.Typeflag == tar.TypeDir); err != nil {
		return err
	}
	a.markCreated(name)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := a.directory(hdr, name, pfd, base); err != nil {
			return err
		}
		if a.opts.Mode == Overlay && a.layer[name]&flagWhiteout != 0 {
			// A directory this layer made where it whited out a lower
			// entry: the whiteout device is gone, so the new directory
			// must hide the lower one itself.
			return a.markOpaque(pfd, base)
		}
		return nil
	case tar.TypeSymlink:
		return a.symlink(hdr, name, pfd, base)
	case tar.TypeFifo, tar.TypeChar, tar.TypeBlock:
		return a.node(hdr, name, pfd, base)
	}
	return fmt.Errorf("type %q: %w entry", hdr.Typeflag, errdefs.ErrUnsupported)
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeDir:
		return "directory"
	}
	return "non-directory"
}

// checkHeader enforces the caps on link names, PAX records and xattrs.
func checkHeader(hdr *tar.Header) error {
	if len(hdr.Linkname) > maxNameLen {
		return fmt.Errorf("link name of %d bytes: %w", len(hdr.Linkname), ErrLimit)
	}
	if len(hdr.PAXRecords) > maxPAXRecords {
		return fmt.Errorf("%d PAX records: %w", len(hdr.PAXRecords), ErrLimit)
	}
	n, total := 0, 0
	for k, v := range hdr.PAXRecords {
		if !strings.HasPrefix(k, xattrPAX) {
			continue
		}
		n++
		total += len(k) + len(v)
		if len(v) > maxXattrValue || len(k)-len(xattrPAX) > 255 {
			return fmt.Errorf("xattr %q of %d bytes: %w", k[len(xattrPAX):], len(v), ErrLimit)
		}
	}
	if n > maxXattrs || total > maxXattrTotal {
		return fmt.Errorf("%d xattrs, %d bytes: %w", n, total, ErrLimit)
	}
	return nil
}

// mkdirAll returns the fd of the in-root directory rel, creating missing
// components (with a lower layer's metadata in Overlay mode).
func (a *applier) mkdirAll(rel string) (int, error) {
	fd, err := a.mkdirAllOnce(rel)
	if err != nil && a.pool != nil && len(a.pool.busy) > 0 {
		// The path may lead through a file still in flight: fail (or not)
		// as in order.
		if err := a.pool.barrier(); err != nil {
			return -1, err
		}
		fd, err = a.mkdirAllOnce(rel)
	}
	return fd, err
}

func (a *applier) mkdirAllOnce(rel string) (int, error) {
	fd, err := a.root.dir(rel)
	if err == unix.ELOOP {
		return -1, fmt.Errorf("too many symlinks: %w", ErrBreakout)
	}
	if err == nil || (err != unix.ENOENT && err != unix.ENOTDIR) {
		return fd, err
	}
	comps := strings.Split(rel, "/")
	pfd := a.root.fd
	for i, c := range comps {
		prefix := strings.Join(comps[:i+1], "/")
		fd, err := a.root.dir(prefix)
		if err == unix.ENOTDIR && a.opts.Mode == Overlay && a.layer[prefix]&flagWhiteout != 0 {
			// An entry below a directory this layer whited out: the
			// whiteout device becomes an opaque directory.
			if err := unix.Unlinkat(pfd, c, 0); err != nil {
				return -1, fmt.Errorf("replace whiteout %q: %w", "/"+prefix, err)
			}
			if err := a.markOpaque(pfd, c); err != nil {
				return -1, fmt.Errorf("%q: %w", "/"+prefix, err)
			}
			fd, err = a.root.dir(prefix)
		} else if err == unix.ENOENT {
			if err := a.waitFor(pfd, c); err != nil {
				return -1, err
			}
			if err := unix.Mkdirat(pfd, c, 0o755); err != nil {
				if err == unix.EEXIST {
					return -1, fmt.Errorf("%q is a symlink leading nowhere inside the target, or not a directory: %w", "/"+prefix, ErrBreakout)
				}
				return -1, fmt.Errorf("mkdir %q: %w", "/"+prefix, err)
			}
			if err := a.implicitDir(prefix, pfd, c); err != nil {
				return -1, err
			}
			if fd, err = a.root.dir(prefix); err == nil {
				a.madeDir(pfd, c, fd)
			}
		}
		if err == unix.ELOOP {
			return -1, fmt.Errorf("%q: too many symlinks: %w", "/"+prefix, ErrBreakout)
		}
		if err != nil {
			return -1, err
		}
		pfd = fd
	}
	return pfd, nil
}

// clear removes what exists at base unless both it and the new entry are
// directories (then the directory is kept and its metadata updated).
func (a *applier) clear(pfd int, base string, isDir bool) error {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return fmt.Errorf("stat: %w", err)
	}
	if isDir && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return nil
	}
	if err := a.barrier(); err != nil {
		return err
	}
	if t := st.Mode & unix.S_IFMT; t == unix.S_IFDIR || t == unix.S_IFLNK {
		a.root.dirty = true // a cached path may lead through it
	}
	return removeAllAt(pfd, base)
}

// removeAllAt removes name in dirfd and, for a directory, everything
// below it, never following a symlink.
func removeAllAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read dir %s: %w", name, err)
	}
	for _, n := range names {
		if err := removeAllAt(fd, n); err != nil {
			return err
		}
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}
