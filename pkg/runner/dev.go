package runner

import (
	"fmt"
	"path"

	"github.com/ctrlite/ctr-lite/pkg/confine"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"golang.org/x/sys/unix"
)

var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

var devLinks = [][2]string{
	{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
	{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	{"pts/ptmx", "ptmx"},
}

// setupDev fills the /dev tmpfs: device nodes, the standard links.
func setupDev(rootfd int) error {
	// An O_PATH fd serves as the dirfd of the *at calls below.
	dfd, err := openInRoot(rootfd, "/dev")
	if err != nil {
		return fmt.Errorf("open /dev: %w", err)
	}
	defer unix.Close(dfd)
	for _, d := range devices {
		err := unix.Mknodat(dfd, d.name, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor)))
		if err == unix.EPERM {
			// In a user namespace mknod needs CAP_MKNOD on the host:
			// bind the host's node instead, as runc does rootless.
			err = bindDev(dfd, d.name, d.major, d.minor)
		}
		if err := existsOK(err); err != nil {
			return fmt.Errorf("mknod /dev/%s: %w", d.name, err)
		}
	}
	for _, l := range devLinks {
		if err := existsOK(unix.Symlinkat(l[0], dfd, l[1])); err != nil {
			return fmt.Errorf("symlink /dev/%s: %w", l[1], err)
		}
	}
	return nil
}

// bindDev binds the host's /dev/name, checked to be the char device
// major:minor, onto a new empty file name in the directory dfd.
func bindDev(dfd int, name string, major, minor uint32) error {
	src, err := unix.Open("/dev/"+name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(src)
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(major, minor) {
		return fmt.Errorf("host /dev/%s is not char device %d:%d", name, major, minor)
	}
	fd, err := unix.Openat(dfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o666)
	if err != nil {
		return err
	}
	unix.Close(fd)
	dst, err := unix.Openat(dfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dst)
	return unix.Mount(fdPath(src), fdPath(dst), "", unix.MS_BIND, "")
}

// addDevices makes the spec's extra device nodes (--device) inside the
// root: each in its directory, made when missing, owned as the spec says.
func addDevices(rootfd int, devs []specs.LinuxDevice) error {
	for _, d := range devs {
		var kind uint32
		switch d.Type {
		case "c", "u":
			kind = unix.S_IFCHR
		case "b":
			kind = unix.S_IFBLK
		default:
			return fmt.Errorf("device %s: type %q: %w", d.Path, d.Type, ErrInvalidConfig)
		}
		mode := uint32(0o666)
		if d.FileMode != nil {
			mode = uint32(*d.FileMode) & 0o7777
		}
		dir, base := path.Split(path.Clean("/" + d.Path))
		dfd, err := confine.MkdirAll(rootfd, dir, false) // O_PATH: a dirfd for the *at calls
		if err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
		err = existsOK(unix.Mknodat(dfd, base, kind|mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))))
		if err == nil {
			err = unix.Fchmodat(dfd, base, mode, 0) // umask-free
		}
		if err == nil && (d.UID != nil || d.GID != nil) {
			uid, gid := -1, -1
			if d.UID != nil {
				uid = int(*d.UID)
			}
			if d.GID != nil {
				gid = int(*d.GID)
			}
			err = unix.Fchownat(dfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
		}
		unix.Close(dfd)
		if err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
	}
	return nil
}
