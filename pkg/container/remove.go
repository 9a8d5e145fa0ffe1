package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// unmountBelow detaches every mount at or below dir, deepest first.
func unmountBelow(dir string) error {
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("list mounts below %s: %w", dir, err)
	}
	sort.Slice(ms, func(i, j int) bool { return len(ms[i].Mountpoint) > len(ms[j].Mountpoint) })
	for _, m := range ms {
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", m.Mountpoint, err)
		}
	}
	return nil
}

// removeTree removes dir and everything below it, like os.RemoveAll, but
// never descends into a directory on another mount (a rootfs still
// mounted, a bind of the host's files): it fails there instead. Every step
// is relative to an fd opened with O_NOFOLLOW.
func removeTree(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	mnt, err := mountOf(fd, "")
	if err == nil {
		err = removeContents(fd, mnt, dir)
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// mnt identifies a mount: its id where statx gives it, and the device.
type mnt struct {
	id         uint64
	major, min uint32
}

// mountOf identifies the mount of dirfd/name (name "" is dirfd itself);
// for a mount point, that is the mount on it.
func mountOf(dirfd int, name string) (mnt, error) {
	flags := unix.AT_SYMLINK_NOFOLLOW
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	var st unix.Statx_t
	if err := unix.Statx(dirfd, name, flags, unix.STATX_TYPE|unix.STATX_MNT_ID, &st); err != nil {
		return mnt{}, fmt.Errorf("stat %s: %w", name, err)
	}
	m := mnt{major: st.Dev_major, min: st.Dev_minor}
	if st.Mask&unix.STATX_MNT_ID != 0 {
		m.id = st.Mnt_id
	}
	return m, nil
}

// removeContents empties the directory fd (at path p) on mount m.
func removeContents(fd int, m mnt, p string) error {
	names, err := readNames(fd)
	if err != nil {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	for _, name := range names {
		child := filepath.Join(p, name)
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return fmt.Errorf("remove %s: %w", child, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if err := unix.Unlinkat(fd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("remove %s: %w", child, err)
			}
			continue
		}
		cfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("remove %s: %w", child, err)
		}
		cm, err := mountOf(cfd, "")
		if err == nil && cm != m {
			err = fmt.Errorf("remove %s: a mount point: refusing to remove what is mounted there", child)
		}
		if err == nil {
			err = removeContents(cfd, m, child)
		}
		unix.Close(cfd)
		if err != nil {
			return err
		}
		if err := unix.Unlinkat(fd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove %s: %w", child, err)
		}
	}
	return nil
}

// readNames lists the directory fd without moving fd's own offset.
func readNames(fd int) ([]string, error) {
	dfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dfd), "dir")
	defer f.Close()
	return f.Readdirnames(-1)
}
