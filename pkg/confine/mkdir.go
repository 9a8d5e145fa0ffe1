package confine

import (
	"fmt"
	"path"

	"golang.org/x/sys/unix"
)

// maxDangling is how many dangling symlinks MkdirAll follows to create
// their targets.
const maxDangling = 8

// MkdirAll makes p and its missing parents inside the tree at rootfd
// (mode 0755) and returns an O_PATH fd of p. With file set, a missing last
// component is made as an empty file (mode 0644) instead. Symlinks met on
// the way are followed inside the tree, also when they dangle: their
// target is created, up to a few hops. Errors say which path failed.
func MkdirAll(rootfd int, p string, file bool) (int, error) {
	return mkdirAll(rootfd, path.Clean("/"+p), file, 0)
}

func mkdirAll(rootfd int, p string, file bool, depth int) (int, error) {
	if depth > maxDangling {
		return -1, fmt.Errorf("create %s: %w", p, unix.ELOOP)
	}
	if fd, err := Open(rootfd, p, unix.O_PATH); err == nil {
		return fd, nil
	} else if err != unix.ENOENT {
		return -1, fmt.Errorf("open %s in rootfs: %w", p, err)
	}
	parent, name := path.Split(p)
	pfd, err := mkdirAll(rootfd, path.Clean(parent), false, depth)
	if err != nil {
		return -1, err
	}
	// Re-open the parent as a real directory fd for *at calls.
	dfd, err := unix.Openat(pfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	unix.Close(pfd)
	if err != nil {
		return -1, fmt.Errorf("open %s in rootfs: %w", parent, err)
	}
	defer unix.Close(dfd)
	if file {
		fd, err := unix.Openat(dfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(fd)
		}
		if err != nil && err != unix.EEXIST {
			return -1, fmt.Errorf("create %s in rootfs: %w", p, err)
		}
	} else if err := unix.Mkdirat(dfd, name, 0o755); err != nil && err != unix.EEXIST {
		return -1, fmt.Errorf("mkdir %s in rootfs: %w", p, err)
	}
	if fd, err := Open(rootfd, p, unix.O_PATH); err == nil {
		return fd, nil
	}
	// Still missing: a dangling symlink. Create its target inside the tree.
	lfd, err := unix.Openat(dfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s in rootfs: %w", p, err)
	}
	target, err := Readlink(lfd)
	unix.Close(lfd)
	if err != nil {
		return -1, fmt.Errorf("open %s in rootfs: %w", p, err)
	}
	if !path.IsAbs(target) {
		target = path.Join(parent, target)
	}
	return mkdirAll(rootfd, path.Clean("/"+target), file, depth+1)
}
