package unpack

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const xattrPAX = "SCHILY.xattr."

// file creates a regular file and streams its content, or hands it to a
// worker.
func (a *applier) file(ctx context.Context, hdr *tar.Header, name string, pfd int, base string, tr io.Reader) error {
	if done, err := a.toWorker(ctx, hdr, name, pfd, base, tr); done || err != nil {
		return err
	}
	// Created with the entry's permission bits (setuid/setgid come after
	// chown) so that the usual umask leaves nothing for fchmod to do.
	flags, mode := createFlags, uint32(hdr.Mode)&0o777
	fd, err := unix.Openat(pfd, base, flags, mode)
	if err == unix.EEXIST {
		// Something is there (a lower layer's entry, an earlier entry of
		// the same name): replace it, as for every other type.
		if err := a.clear(pfd, base, false); err != nil {
			return err
		}
		fd, err = unix.Openat(pfd, base, flags, mode)
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	f := rawFile(fd)
	defer f.Close()
	n, err := copyContent(ctx, f, tr, isSparse(hdr), hdr.Size, a.buf)
	a.st.Bytes += n
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := a.setMeta(hdr, name, fd, pfd); err != nil {
		return err
	}
	a.st.Files++
	return futimens(fd, hdr)
}

// waitFor waits for the workers when a file named base in pfd is in
// flight.
func (a *applier) waitFor(pfd int, base string) error {
	if a.pool == nil || len(a.pool.busy) == 0 {
		return nil
	}
	id, err := a.root.idOf(pfd)
	if err != nil || a.pool.inFlight(nameKey{id, base}) {
		return a.pool.barrier()
	}
	return nil
}

// toWorker hands a small file to a worker when nothing can tell it from
// creating it here: its directory is fresh, nothing but a regular file of
// this layer can be at its name (a worker replaces that), and no earlier
// entry of the same name is still in flight. It reports whether it did.
func (a *applier) toWorker(ctx context.Context, hdr *tar.Header, name string, pfd int, base string, r io.Reader) (bool, error) {
	if err := a.waitFor(pfd, base); err != nil {
		return false, err
	}
	if a.opts.UserNS || hdr.Size < 0 || hdr.Size > maxPoolBytes || hdr.Typeflag == tar.TypeGNUSparse || len(a.fresh) == 0 {
		return false, nil
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, xattrPAX) || strings.HasPrefix(k, "GNU.sparse.") {
			return false, nil
		}
	}
	info, err := a.root.info(pfd)
	if err != nil || !a.fresh[info.id] {
		return false, nil
	}
	key := nameKey{info.id, base}
	if _, ok := a.taken[key]; ok {
		return false, nil
	}
	// Owner and mode as setMeta sets them on a file just made.
	t := fileTask{pfd: pfd, name: hdr.Name, key: key, n: int(hdr.Size), perm: uint32(hdr.Mode) & 0o777, uid: -1, gid: -1, chmod: -1}
	uid, gid := a.euid, a.egid
	if info.owner.setgid {
		gid = int(info.owner.gid)
	}
	mode := uint32(hdr.Mode) & 0o777 &^ processUmask()
	a.ownerSkipped(hdr, name)
	if !a.opts.Rootless && (uid != hdr.Uid || gid != hdr.Gid) {
		if hdr.Uid < 0 || hdr.Gid < 0 || int64(hdr.Uid) > 1<<32-2 || int64(hdr.Gid) > 1<<32-2 {
			return true, fmt.Errorf("uid/gid %d/%d out of range: %w", hdr.Uid, hdr.Gid, ErrLimit)
		}
		t.uid, t.gid = hdr.Uid, hdr.Gid
	}
	if want := uint32(hdr.Mode) & 0o7777; mode != want {
		t.chmod = int32(want)
	}
	ts := timespecs(hdr)
	t.ts = [2]unix.Timespec{ts[0], ts[1]}
	if a.pool == nil {
		a.pool = newPool(ctx)
	}
	return true, a.pool.add(t, base, func(b []byte) error {
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	})
}

// futimens sets atime/mtime of the file open on fd: utimensat(fd, NULL)
// is the same system call as setTimes without a path to look up.
func futimens(fd int, hdr *tar.Header) error {
	ts := timespecs(hdr)
	return setFdTimes(fd, (*[2]unix.Timespec)(ts))
}

// setFdTimes is futimens with the times already made (the workers').
func setFdTimes(fd int, ts *[2]unix.Timespec) error {
	if _, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0); e != 0 {
		return fmt.Errorf("set times: %w", e)
	}
	return nil
}

func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if len(k) > 11 && k[:11] == "GNU.sparse." {
			return true
		}
	}
	return false
}

type writerOnly struct{ io.Writer }

// rawFile writes to a file descriptor with plain system calls: wrapping it
// in an os.File costs an fstat and an fcntl per file.
type rawFile int

func (f rawFile) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Write(int(f), b[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.ErrShortWrite
		}
		n += m
	}
	return n, nil
}

func (f rawFile) Seek(off int64, whence int) (int64, error) { return unix.Seek(int(f), off, whence) }

func (f rawFile) Truncate(size int64) error { return unix.Ftruncate(int(f), size) }

func (f rawFile) Close() error { return unix.Close(int(f)) }

// copyContent copies r to f through buf. For sparse entries, all-zero
// blocks become holes.
func copyContent(ctx context.Context, f rawFile, r io.Reader, sparse bool, size int64, buf []byte) (int64, error) {
	if !sparse {
		var total int64
		for {
			n, err := io.CopyBuffer(writerOnly{f}, io.LimitReader(r, 64<<20), buf)
			total += n
			if err != nil || n < 64<<20 {
				return total, err
			}
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
	}
	var total int64
	for {
		if total%(64<<20) == 0 {
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			chunk := buf[:n]
			for len(chunk) > 0 {
				blk := min(len(chunk), 4096)
				if allZero(chunk[:blk]) {
					if _, err := f.Seek(int64(blk), io.SeekCurrent); err != nil {
						return total, err
					}
				} else if _, err := f.Write(chunk[:blk]); err != nil {
					return total, err
				}
				chunk = chunk[blk:]
			}
			total += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return total, err
		}
	}
	return total, f.Truncate(size)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// setMeta sets owner, mode and xattrs on an fd opened on the entry (never
// a path, so a symlink can never redirect it). chown comes first since it
// clears setuid bits and security.capability.
//
// newIn is the parent directory's fd when fd is a file just created in it:
// its owner and mode then follow from who we are, the parent and the
// umask, without an fstat. It is -1 for an entry that existed.
func (a *applier) setMeta(hdr *tar.Header, name string, fd int, newIn int) error {
	var st unix.Stat_t
	if newIn >= 0 {
		o, err := a.root.owner(newIn)
		if err != nil {
			return fmt.Errorf("stat parent: %w", err)
		}
		st.Uid, st.Gid = uint32(a.euid), uint32(a.egid)
		if o.setgid {
			st.Gid = o.gid
		}
		st.Mode = uint32(hdr.Mode) & 0o777 &^ processUmask()
	} else if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	a.ownerSkipped(hdr, name)
	if !a.opts.Rootless && (int(st.Uid) != hdr.Uid || int(st.Gid) != hdr.Gid) {
		if hdr.Uid < 0 || hdr.Gid < 0 || int64(hdr.Uid) > 1<<32-2 || int64(hdr.Gid) > 1<<32-2 {
			return fmt.Errorf("uid/gid %d/%d out of range: %w", hdr.Uid, hdr.Gid, ErrLimit)
		}
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			if !a.unmapped(err, hdr, name) {
				return fmt.Errorf("chown: %w", err)
			}
		}
		st.Mode &^= unix.S_ISUID | unix.S_ISGID
	}
	mode := uint32(hdr.Mode) & 0o7777
	if st.Mode&0o7777 != mode {
		if err := unix.Fchmod(fd, mode); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	return a.setXattrs(hdr, name, func(k string, v []byte) error { return unix.Fsetxattr(fd, k, v, 0) })
}

// isOverlayXattr reports whether attr is one overlayfs interprets.
func isOverlayXattr(attr string) bool {
	return strings.HasPrefix(attr, "trusted.overlay.") || strings.HasPrefix(attr, "user.overlay.")
}

// setXattrs applies the SCHILY.xattr.* records with set, but the overlayfs
// ones (reported through Options.Skipped).
func (a *applier) setXattrs(hdr *tar.Header, name string, set func(string, []byte) error) error {
	for k, v := range hdr.PAXRecords {
		if len(k) <= len(xattrPAX) || k[:len(xattrPAX)] != xattrPAX {
			continue
		}
		attr := k[len(xattrPAX):]
		if isOverlayXattr(attr) {
			// overlayfs would act on it at run time (redirect, hide,
			// make opaque) where inspect and unpack show nothing.
			a.skipped(Skip{Path: name, Kind: SkipXattr, Detail: attr, Reason: "overlayfs attributes are not applied"})
			continue
		}
		if err := set(attr, []byte(v)); err != nil {
			if err == unix.ENOTSUP || (a.opts.Rootless || a.opts.UserNS) && (err == unix.EPERM || err == unix.EACCES) {
				why := "the filesystem does not support it"
				switch {
				case err == unix.ENOTSUP:
				case a.opts.UserNS:
					why = "user namespace: setting it needs privilege on the host (" + err.Error() + ")"
				default:
					why = "rootless: setting it needs privilege (" + err.Error() + ")"
				}
				a.skipped(Skip{Path: name, Kind: SkipXattr, Detail: attr, Reason: why})
				continue
			}
			return fmt.Errorf("setxattr %s: %w", attr, err)
		}
	}
	return nil
}

func timespecs(hdr *tar.Header) []unix.Timespec {
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	return []unix.Timespec{toTimespec(at), toTimespec(hdr.ModTime)}
}

func toTimespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Sec: 0}
	}
	return unix.NsecToTimespec(t.UnixNano())
}

// setTimes sets atime/mtime of base in pfd without following a symlink.
func setTimes(pfd int, base string, hdr *tar.Header) error {
	if err := unix.UtimesNanoAt(pfd, base, timespecs(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// directory creates a directory or updates an existing one. Its times
// (and, rootless, a mode without owner write) are set by finish.
func (a *applier) directory(hdr *tar.Header, name string, pfd int, base string) error {
	made := false
	if base != "." {
		err := unix.Mkdirat(pfd, base, 0o700)
		if err != nil && err != unix.EEXIST {
			return fmt.Errorf("mkdir: %w", err)
		}
		made = err == nil
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	defer unix.Close(fd)
	if made {
		a.madeDir(pfd, base, fd)
	}
	h := *hdr
	var deferred uint32
	if a.opts.Rootless && h.Mode&0o700 != 0o700 {
		deferred = uint32(h.Mode)&0o7777 | 1<<31
		h.Mode |= 0o700
	}
	a.root.changed()
	if err := a.setMeta(&h, name, fd, -1); err != nil {
		return err
	}
	a.st.Dirs++
	ts := timespecs(hdr)
	a.recordDir(dirMeta{path: name, mode: deferred, atime: ts[0], mtime: ts[1]})
	return nil
}

func (a *applier) recordDir(m dirMeta) {
	if i, ok := a.dirIdx[m.path]; ok {
		a.dirs[i] = m
		return
	}
	a.dirIdx[m.path] = len(a.dirs)
	a.dirs = append(a.dirs, m)
}

// finish sets directory times (and deferred modes) after their contents.
func (a *applier) finish() error {
	for i := len(a.dirs) - 1; i >= 0; i-- {
		m := a.dirs[i]
		parent, base := parentBase(m.path)
		if m.path == "" {
			base = "."
		}
		pfd, err := a.root.dir(parent)
		if err != nil {
			continue // replaced or removed later in the layer
		}
		var st unix.Stat_t
		if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		if m.mode != 0 {
			fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("open dir %q: %w", m.path, err)
			}
			err = unix.Fchmod(fd, m.mode&0o7777)
			unix.Close(fd)
			if err != nil {
				return fmt.Errorf("chmod dir %q: %w", m.path, err)
			}
		}
		if err := unix.UtimesNanoAt(pfd, base, []unix.Timespec{m.atime, m.mtime}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set times of dir %q: %w", m.path, err)
		}
	}
	return nil
}

// symlink creates a symbolic link. Its target is stored as written and is
// only ever followed with in-root resolution.
func (a *applier) symlink(hdr *tar.Header, name string, pfd int, base string) error {
	if hdr.Linkname == "" {
		return fmt.Errorf("symlink with empty target: %w", ErrUnsafePath)
	}
	if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	a.made(pfd, base)
	if err := a.lchown(hdr, name, pfd, base); err != nil {
		return err
	}
	if err := a.setXattrs(hdr, name, func(k string, v []byte) error {
		return unix.Lsetxattr(procPath(pfd, base), k, v, 0)
	}); err != nil {
		return err
	}
	a.st.Symlinks++
	return setTimes(pfd, base, hdr)
}

// procPath names base in the directory pfd through /proc/self/fd, for the
// l*xattr calls that have no *at form (the last component is not followed).
func procPath(pfd int, base string) string { return fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base) }

func (a *applier) lchown(hdr *tar.Header, name string, pfd int, base string) error {
	if a.opts.Rootless {
		a.ownerSkipped(hdr, name)
		return nil
	}
	if hdr.Uid == a.euid && hdr.Gid == a.egid {
		return nil
	}
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil && !a.unmapped(err, hdr, name) {
		return fmt.Errorf("lchown: %w", err)
	}
	return nil
}

// node creates a fifo or a device node (devices only as root).
func (a *applier) node(hdr *tar.Header, name string, pfd int, base string) error {
	mode := uint32(hdr.Mode) & 0o7777
	var dev uint64
	switch hdr.Typeflag {
	case tar.TypeFifo:
		mode |= unix.S_IFIFO
	case tar.TypeChar, tar.TypeBlock:
		if a.opts.Rootless || a.opts.UserNS {
			delete(a.layer, name)
			kind := "char"
			if hdr.Typeflag == tar.TypeBlock {
				kind = "block"
			}
			why := "rootless: creating device nodes needs CAP_MKNOD"
			if a.opts.UserNS {
				why = "user namespace: creating device nodes needs CAP_MKNOD on the host"
			}
			a.skipped(Skip{Path: name, Kind: SkipDevice, Detail: fmt.Sprintf("%s %d:%d", kind, hdr.Devmajor, hdr.Devminor),
				Reason: why})
			return nil
		}
		mode |= unix.S_IFCHR
		if hdr.Typeflag == tar.TypeBlock {
			mode = mode&^unix.S_IFCHR | unix.S_IFBLK
		}
		dev = unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	}
	if err := unix.Mknodat(pfd, base, mode&^0o7777, int(dev)); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	a.made(pfd, base)
	if err := a.lchown(hdr, name, pfd, base); err != nil {
		return err
	}
	// The node was just created by us in pfd, so it is not a symlink and
	// fchmodat cannot be redirected.
	if err := unix.Fchmodat(pfd, base, mode&0o7777, 0); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := a.setXattrs(hdr, name, func(k string, v []byte) error {
		return unix.Lsetxattr(procPath(pfd, base), k, v, 0)
	}); err != nil {
		return err
	}
	a.st.Files++
	return setTimes(pfd, base, hdr)
}

// processUmask is this process's umask, read once from /proc (setting it
// to read it would race with other goroutines creating files).
var processUmask = sync.OnceValue(func() uint32 {
	b, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return uint32(m)
				}
			}
		}
	}
	return 0o777 // unknown: every bit may be off, so fchmod always runs
})
