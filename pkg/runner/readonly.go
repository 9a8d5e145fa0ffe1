package runner

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Read-only is recursive: a read-only volume, read-only path or root is
// read-only with every mount below it (mount_setattr(2) with AT_RECURSIVE,
// as docker >= 25 does). A plain MS_REMOUNT|MS_RDONLY only changes the top
// mount, and a bind of /sys or / would keep the host's cgroup hierarchies
// or /proc/sys writable. On kernels without mount_setattr (before 5.12) a
// tree that has submounts is refused rather than left half read-only.

// rdonlyTree makes the mount at dirfd/p (p "" is dirfd itself), already
// remounted read-only at the top, read-only with all its submounts.
func rdonlyTree(dirfd int, p, what string) error {
	flags := uint(unix.AT_RECURSIVE)
	if p == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	err := unix.MountSetattr(dirfd, p, flags, &attr)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("make %s read-only recursively: %w", what, err)
	}
	fd := dirfd
	if p != "" {
		if fd, err = unix.Openat(dirfd, p, unix.O_PATH|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("make %s read-only recursively: %w", what, err)
		}
		defer unix.Close(fd)
	}
	n, err := childMounts(fd)
	if err != nil {
		return fmt.Errorf("make %s read-only recursively: %w", what, err)
	}
	if n > 0 {
		return fmt.Errorf("make %s read-only: %d mounts below it would stay writable and this kernel has no mount_setattr (Linux 5.12): refusing", what, n)
	}
	return nil
}

// childMounts counts the mounts whose parent is the mount fd is on.
func childMounts(fd int) (int, error) {
	id, err := mountID(fd)
	if err != nil {
		return 0, err
	}
	n := 0
	_, err = mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		if m.Parent == id && m.ID != id {
			n++
		}
		return true, false
	})
	return n, err
}

// mountID reads the mount id of fd from /proc/self/fdinfo.
func mountID(fd int) (int, error) {
	f, err := os.Open("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "mnt_id:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("fdinfo of %d: no mnt_id", fd)
}

// rootSubmounts opens the mounts found below root before the spec's
// mounts are added (the root directory's own submounts), so that a
// read-only root can make them read-only too once pivoted.
func rootSubmounts(root string) ([]int, error) {
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(root))
	if err != nil {
		return nil, fmt.Errorf("list mounts below rootfs: %w", err)
	}
	var fds []int
	for _, m := range ms {
		if m.Mountpoint == root {
			continue
		}
		fd, err := unix.Open(m.Mountpoint, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			closeAll(fds)
			return nil, fmt.Errorf("open mount %s below rootfs: %w", m.Mountpoint, err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
