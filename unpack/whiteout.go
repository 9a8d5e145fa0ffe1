package unpack

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

func join(parent, base string) string {
	if parent == "" {
		return base
	}
	return parent + "/" + base
}

// whiteout applies a ".wh.NAME" or ".wh..wh..opq" entry found in parent.
// Whiteouts only hide what lower layers put there: entries this layer
// created survive, whatever their order in the tar.
func (a *applier) whiteout(parent, base string) error {
	opaque := base == whOpaque
	if !opaque && strings.HasPrefix(base, whMeta) {
		return nil // aufs metadata (.wh..wh.plnk and the like): nothing to apply
	}
	victim := base[len(whPrefix):]
	if !opaque && (victim == "" || victim == "." || victim == "..") {
		return fmt.Errorf("whiteout of %q: %w", victim, ErrUnsafePath)
	}
	a.st.Whiteouts++
	if a.flatEmpty {
		// Everything in the target is this layer's: nothing to hide.
		if _, err := a.root.dir(parent); err != nil && err != unix.ENOENT && err != unix.ENOTDIR {
			return fmt.Errorf("parent %q: %w", "/"+parent, err)
		}
		return nil
	}
	if err := a.barrier(); err != nil {
		return err
	}
	if opaque {
		return a.opaque(parent)
	}
	path := join(parent, victim)
	flags := a.layer[path]
	a.layer[path] |= flagWhiteout
	if flags&flagCreated != 0 {
		// This layer made path already. A non-directory replaced the
		// lower entry when it was made; a directory was merged with a
		// lower one and must now hide it (what the layer put in it stays).
		return a.hideLowerIn(parent, victim)
	}
	if a.opts.Mode == Overlay {
		parent, err := a.mergedPath(parent)
		if err != nil {
			return fmt.Errorf("parent %q: %w", "/"+parent, err)
		}
		pfd, err := a.mkdirAll(parent)
		if err != nil {
			return fmt.Errorf("parent %q: %w", "/"+parent, err)
		}
		if flags&flagAncestor != 0 {
			// This layer put entries below the deleted directory: they
			// stay, over an opaque directory.
			return a.markOpaque(pfd, victim)
		}
		if err := a.clear(pfd, victim, false); err != nil {
			return err
		}
		if err := unix.Mknodat(pfd, victim, unix.S_IFCHR, 0); err != nil {
			return fmt.Errorf("mknod whiteout: %w", err)
		}
		a.made(pfd, victim)
		return nil
	}
	pfd, err := a.root.dir(parent)
	if err == unix.ENOENT || err == unix.ENOTDIR {
		return nil // nothing below to delete
	}
	if err != nil {
		return fmt.Errorf("parent %q: %w", "/"+parent, err)
	}
	a.root.dirty = true
	if flags&flagAncestor != 0 {
		fd, err := unix.Openat(pfd, victim, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %q: %w", "/"+path, err)
		}
		defer unix.Close(fd)
		return a.purge(fd, path)
	}
	return removeAllAt(pfd, victim)
}

// hideLowerIn makes the directory victim in parent, which this layer
// created, show only what this layer put in it; a non-directory is left.
func (a *applier) hideLowerIn(parent, victim string) error {
	path := join(parent, victim)
	if a.opts.Mode == Overlay {
		var err error
		if parent, err = a.mergedPath(parent); err != nil {
			return fmt.Errorf("parent %q: %w", "/"+parent, err)
		}
	}
	pfd, err := a.root.dir(parent)
	if err != nil {
		return fmt.Errorf("parent %q: %w", "/"+parent, err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, victim, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	if a.opts.Mode == Overlay {
		return a.markOpaque(pfd, victim)
	}
	fd, err := unix.Openat(pfd, victim, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %q: %w", "/"+path, err)
	}
	defer unix.Close(fd)
	a.root.dirty = true
	return a.purge(fd, path)
}

// opaque applies ".wh..wh..opq" in dir.
func (a *applier) opaque(dir string) error {
	if a.opts.Mode == Overlay {
		dir, err := a.mergedPath(dir)
		if err != nil {
			return fmt.Errorf("dir %q: %w", "/"+dir, err)
		}
		fd, err := a.mkdirAll(dir)
		if err != nil {
			return fmt.Errorf("dir %q: %w", "/"+dir, err)
		}
		return a.markOpaque(fd, ".")
	}
	fd, err := a.root.dir(dir)
	if err == unix.ENOENT || err == unix.ENOTDIR {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dir %q: %w", "/"+dir, err)
	}
	a.root.dirty = true
	return a.purge(fd, dir)
}

// markOpaque creates (if needed) the directory base in pfd and sets the
// overlay opaque xattr on it.
func (a *applier) markOpaque(pfd int, base string) error {
	if base != "." {
		if err := unix.Mkdirat(pfd, base, 0o755); err != nil && err != unix.EEXIST {
			return fmt.Errorf("mkdir: %w", err)
		}
		a.made(pfd, base)
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	defer unix.Close(fd)
	attr := opaqueAttrs[0]
	if a.opts.Rootless || a.opts.UserNS {
		attr = opaqueAttrs[1]
	}
	if err := unix.Fsetxattr(fd, attr, []byte("y"), 0); err != nil {
		return fmt.Errorf("set %s: %w", attr, err)
	}
	return nil
}

// purge removes from the directory dfd (in-root path logical) everything
// this layer did not create, descending into directories that hold
// entries of this layer.
func (a *applier) purge(dfd int, logical string) error {
	fd, err := unix.Openat(dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %q: %w", "/"+logical, err)
	}
	f := os.NewFile(uintptr(fd), logical)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read dir %q: %w", "/"+logical, err)
	}
	for _, n := range names {
		p := join(logical, n)
		flags := a.layer[p]
		if flags == 0 {
			if err := removeAllAt(fd, n); err != nil {
				return err
			}
			continue
		}
		if flags&flagAncestor == 0 && flags&flagCreated != 0 {
			// created by this layer: keep it, but a directory it replaced
			// in place may still hold lower entries.
			var st unix.Stat_t
			if unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
				continue
			}
		}
		cfd, err := unix.Openat(fd, n, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOTDIR || err == unix.ELOOP {
			continue
		}
		if err != nil {
			return fmt.Errorf("open %q: %w", "/"+p, err)
		}
		err = a.purge(cfd, p)
		unix.Close(cfd)
		if err != nil {
			return err
		}
	}
	return nil
}
