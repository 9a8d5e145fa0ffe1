package unpack

import (
	"archive/tar"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/confine"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// hardlink links base in pfd to the in-root path named by the entry's
// link name. The target's last component is never followed: a hardlink to
// a symlink links the symlink itself.
func (a *applier) hardlink(hdr *tar.Header, name string, pfd int, base string) error {
	target, err := splitName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("link target: %w", err)
	}
	if target == "" {
		return fmt.Errorf("hardlink to the root: %w", ErrUnsafePath)
	}
	a.st.Hardlinks++
	if target == name {
		return nil
	}
	tparent, tbase := parentBase(target)
	st, tpfd, err := a.linkTarget(tparent, tbase)
	if err != nil {
		return fmt.Errorf("link target %q: %w", "/"+target, err)
	}
	var cur unix.Stat_t
	if unix.Fstatat(pfd, base, &cur, unix.AT_SYMLINK_NOFOLLOW) == nil && cur.Dev == st.Dev && cur.Ino == st.Ino {
		return nil // already this file
	}
	if err := a.clear(pfd, base, false); err != nil {
		return err
	}
	if err := unix.Linkat(tpfd, tbase, pfd, base, 0); err != nil {
		return fmt.Errorf("link to %q: %w", "/"+target, err)
	}
	a.made(pfd, base)
	return nil
}

// linkTarget stats the hardlink target (copying it up from a lower layer
// in Overlay mode) and returns its parent fd.
func (a *applier) linkTarget(tparent, tbase string) (unix.Stat_t, int, error) {
	var st unix.Stat_t
	tparent, err := a.mergedPath(tparent)
	if err != nil {
		return st, -1, err
	}
	tpfd, err := a.root.dir(tparent)
	if err == nil {
		err = unix.Fstatat(tpfd, tbase, &st, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err == unix.ENOENT && a.opts.Mode == Overlay && len(a.opts.Lowers) > 0 {
		if err = a.copyUp(tparent, tbase); err == nil {
			tpfd, err = a.root.dir(tparent)
			if err == nil {
				err = unix.Fstatat(tpfd, tbase, &st, unix.AT_SYMLINK_NOFOLLOW)
			}
		}
	}
	if err == unix.ENOENT || err == unix.ENOTDIR {
		return st, -1, fmt.Errorf("hardlink target %w", errdefs.ErrNotFound)
	}
	if err != nil {
		return st, -1, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return st, -1, fmt.Errorf("target is a directory: %w", ErrUnsafePath)
	}
	return st, tpfd, nil
}

// lower returns the i-th lower layer's root, opening it on first use.
func (a *applier) lower(i int) (*root, error) {
	if a.opts.WaitLowers != nil {
		wait := a.opts.WaitLowers
		a.opts.WaitLowers = nil
		if err := wait(); err != nil {
			return nil, fmt.Errorf("lower layers: %w", err)
		}
	}
	if a.lowers[i] == nil {
		r, err := openRoot(a.opts.Lowers[i])
		if err != nil {
			return nil, err
		}
		a.lowers[i] = r
	}
	if len(a.lowers[i].cache) > maxCachedDirs {
		a.lowers[i].flush()
	}
	return a.lowers[i], nil
}

// findLower finds rel in the lower layers, top-most first. It returns the
// layer's root, the parent fd and the entry's stat; ok is false when no
// layer has it or a whiteout hides it.
func (a *applier) findLower(parent, base string) (int, *root, int, unix.Stat_t, bool, error) {
	var st unix.Stat_t
	for i := range a.opts.Lowers {
		lr, err := a.lower(i)
		if err != nil {
			return -1, nil, -1, st, false, err
		}
		pfd, err := lr.dir(parent)
		if err == unix.ENOTDIR {
			return -1, nil, -1, st, false, nil
		}
		if err == nil {
			err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			if lr.opaque() {
				break // an opaque layer root hides the layers below
			}
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			return -1, nil, -1, st, false, nil // whiteout
		}
		return i, lr, pfd, st, true, nil
	}
	return -1, nil, -1, st, false, nil
}

// implicitDir gives a parent directory this layer does not list (Overlay
// mode) the owner, mode and times it has in the lower layers, so that the
// upper directory does not change them in the merged view.
func (a *applier) implicitDir(rel string, pfd int, base string) error {
	if a.opts.Mode != Overlay || len(a.opts.Lowers) == 0 {
		return nil
	}
	parent, b := parentBase(rel)
	_, _, _, st, ok, err := a.findLower(parent, b)
	if err != nil || !ok || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %q: %w", "/"+rel, err)
	}
	defer unix.Close(fd)
	if !a.opts.Rootless {
		if err := unix.Fchown(fd, int(st.Uid), int(st.Gid)); err != nil && !a.lowerUnmapped(err) {
			return fmt.Errorf("chown %q: %w", "/"+rel, err)
		}
	}
	if err := unix.Fchmod(fd, st.Mode&0o7777); err != nil {
		return fmt.Errorf("chmod %q: %w", "/"+rel, err)
	}
	a.recordDir(dirMeta{path: rel, atime: st.Atim, mtime: st.Mtim})
	return nil
}

// copyUp copies a file from a lower layer into this layer at the same
// path (Overlay mode), so that a hardlink to it can be made here.
func (a *applier) copyUp(parent, base string) error {
	li, _, lpfd, st, ok, err := a.findLower(parent, base)
	if err != nil {
		return err
	}
	if !ok {
		return unix.ENOENT
	}
	pfd, err := a.mkdirAll(parent)
	if err != nil {
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		src, err := unix.Openat(lpfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("copy up: %w", err)
		}
		sf := os.NewFile(uintptr(src), base)
		defer sf.Close()
		dst, err := unix.Openat(pfd, base, createFlags, 0o600)
		if err != nil {
			return fmt.Errorf("copy up: %w", err)
		}
		df := os.NewFile(uintptr(dst), base)
		defer df.Close()
		_, err = io.Copy(df, sf) // file to file: copy_file_range in the kernel (a buffer would go unused: *os.File is a WriterTo)
		if err != nil {
			return fmt.Errorf("copy up: %w", err)
		}
		if !a.opts.Rootless {
			if err := unix.Fchown(dst, int(st.Uid), int(st.Gid)); err != nil && !a.lowerUnmapped(err) {
				return fmt.Errorf("copy up: chown: %w", err)
			}
		}
		if err := unix.Fchmod(dst, st.Mode&0o7777); err != nil {
			return fmt.Errorf("copy up: chmod: %w", err)
		}
		if err := copyXattrs(src, dst); err != nil {
			return fmt.Errorf("copy up: %w", err)
		}
	case unix.S_IFLNK:
		target, err := readlinkAt(lpfd, base)
		if err != nil {
			return fmt.Errorf("copy up: %w", err)
		}
		if err := unix.Symlinkat(target, pfd, base); err != nil {
			return fmt.Errorf("copy up: %w", err)
		}
		a.made(pfd, base)
		if !a.opts.Rootless {
			if err := unix.Fchownat(pfd, base, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil && !a.lowerUnmapped(err) {
				return fmt.Errorf("copy up: %w", err)
			}
		}
	case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK:
		if err := unix.Mknodat(pfd, base, st.Mode, int(st.Rdev)); err != nil {
			return fmt.Errorf("copy up: %w", err)
		}
		a.made(pfd, base)
		if !a.opts.Rootless {
			if err := unix.Fchownat(pfd, base, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil && !a.lowerUnmapped(err) {
				return fmt.Errorf("copy up: %w", err)
			}
		}
	default:
		return fmt.Errorf("copy up of mode %o: %w entry", st.Mode, errdefs.ErrUnsupported)
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("copy up: times: %w", err)
	}
	if st.Nlink > 1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return a.copyUpGroup(li, st.Ino, join(parent, base))
	}
	return nil
}

// copyUpGroup links the other members of a lower hardlink group to the
// file just copied up to self, so the merged view keeps the group whole.
// Paths this layer already has (its own entries, whiteouts) are left alone.
func (a *applier) copyUpGroup(li int, ino uint64, self string) error {
	sp, sb := parentBase(self)
	for _, p := range a.lowerGroup(li, ino, self) {
		pp, pb := parentBase(p)
		if fd, err := a.root.dir(pp); err == nil {
			var st unix.Stat_t
			if unix.Fstatat(fd, pb, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				continue
			}
		}
		pfd, err := a.mkdirAll(pp)
		if err != nil {
			return fmt.Errorf("copy up %q: %w", "/"+p, err)
		}
		spfd, err := a.root.dir(sp)
		if err != nil {
			return fmt.Errorf("copy up %q: %w", "/"+p, err)
		}
		if err := unix.Linkat(spfd, sb, pfd, pb, 0); err != nil {
			return fmt.Errorf("copy up %q: %w", "/"+p, err)
		}
		a.made(pfd, pb)
	}
	return nil
}

func readlinkAt(dirfd int, name string) (string, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	return confine.Readlink(fd)
}

// copyXattrs copies the extended attributes of src to dst (both fds).
func copyXattrs(src, dst int) error {
	sz, err := unix.Flistxattr(src, nil)
	if err != nil || sz == 0 {
		if err == unix.ENOTSUP {
			return nil
		}
		return err
	}
	buf := make([]byte, sz)
	sz, err = unix.Flistxattr(src, buf)
	if err != nil {
		return err
	}
	start := 0
	for i := 0; i < sz; i++ {
		if buf[i] != 0 {
			continue
		}
		k := string(buf[start:i])
		start = i + 1
		vs, err := unix.Fgetxattr(src, k, nil)
		if err != nil {
			return err
		}
		v := make([]byte, vs)
		if vs, err = unix.Fgetxattr(src, k, v); err != nil {
			return err
		}
		if err := unix.Fsetxattr(dst, k, v[:vs], 0); err != nil {
			return err
		}
	}
	return nil
}

// lowerUnmapped accepts a chown to a lower entry's owner that failed in a
// user namespace because that owner is not mapped (the overflow id): the
// lower entry's own skip was reported when its layer was applied.
func (a *applier) lowerUnmapped(err error) bool { return a.opts.UserNS && err == unix.EINVAL }
