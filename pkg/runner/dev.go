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
