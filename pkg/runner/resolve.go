package runner

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// resolveHow resolves every path as if root were /: absolute symlinks and
// ".." stay inside (runc CVE-2021-30465 class), magic links are refused.
var resolveHow = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openInRoot opens p (O_PATH) inside the tree at rootfd.
func openInRoot(rootfd int, p string) (int, error) {
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		rel = "."
	}
	return unix.Openat2(rootfd, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: uint64(resolveHow),
	})
}

// mkdirInRoot makes p and its parents inside rootfd and returns an O_PATH
// fd of it. With file set, the last component is made as an empty file.
// Symlinks met on the way are followed inside the root, also when they
// dangle (their target is created), up to a few hops.
func mkdirInRoot(rootfd int, p string, file bool) (int, error) {
	return mkdirInRootDepth(rootfd, p, file, 0)
}

func mkdirInRootDepth(rootfd int, p string, file bool, depth int) (int, error) {
	if depth > 8 {
		return -1, fmt.Errorf("create %s: %w", p, unix.ELOOP)
	}
	if fd, err := openInRoot(rootfd, p); err == nil {
		return fd, nil
	} else if !errors.Is(err, unix.ENOENT) {
		return -1, fmt.Errorf("open %s in rootfs: %w", p, err)
	}
	clean := path.Clean("/" + p)
	parent, name := path.Split(clean)
	pfd, err := mkdirInRootDepth(rootfd, parent, false, depth)
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
		err = existsOK(err)
		if err != nil {
			return -1, fmt.Errorf("create %s in rootfs: %w", clean, err)
		}
	} else if err := existsOK(unix.Mkdirat(dfd, name, 0o755)); err != nil {
		return -1, fmt.Errorf("mkdir %s in rootfs: %w", clean, err)
	}
	if fd, err := openInRoot(rootfd, clean); err == nil {
		return fd, nil
	}
	// Still missing: a dangling symlink. Create its target inside the root.
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dfd, name, buf)
	if err != nil {
		return -1, fmt.Errorf("open %s in rootfs: %w", clean, err)
	}
	target := string(buf[:n])
	if !path.IsAbs(target) {
		target = path.Join(parent, target)
	}
	return mkdirInRootDepth(rootfd, target, file, depth+1)
}

func existsOK(err error) error {
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

func fdPath(fd int) string { return fmt.Sprintf("/proc/self/fd/%d", fd) }
