package spec

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/confine"
)

type resolved struct {
	uid, gid uint32
	groups   []uint32
	home     string
}

// resolveUser resolves user[:group] against the container's own passwd and
// group files (opened inside rootfs, symlinks resolved as if rootfs were /).
func resolveUser(rootfs, spec string) (resolved, error) {
	passwd, err := openInRoot(rootfs, "etc/passwd")
	if err != nil {
		return resolved{}, fmt.Errorf("resolve user %q: %w", spec, err)
	}
	defer closeReader(passwd)
	group, err := openInRoot(rootfs, "etc/group")
	if err != nil {
		return resolved{}, fmt.Errorf("resolve user %q: %w", spec, err)
	}
	defer closeReader(group)
	return resolveFrom(spec, passwd, group)
}

// ResolveUserIn resolves user[:group] against the passwd and group files
// of the tree at root, as Build does; the runner calls it inside the
// container (root "/") when Build was given no rootfs to read.
func ResolveUserIn(root, spec string) (specs.User, string, error) {
	r, err := resolveUser(root, spec)
	if err != nil {
		return specs.User{}, "", err
	}
	return specs.User{UID: r.uid, GID: r.gid, AdditionalGids: r.groups}, r.home, nil
}

func resolveFrom(spec string, passwd, group io.Reader) (resolved, error) {
	defaults := &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}
	eu, err := user.GetExecUser(spec, defaults, passwd, group)
	if err != nil {
		return resolved{}, fmt.Errorf("resolve user %q: %w", spec, err)
	}
	const maxID = 1<<32 - 2 // 4294967295 is (uid_t)-1, never valid
	if eu.Uid < 0 || eu.Gid < 0 || int64(eu.Uid) > maxID || int64(eu.Gid) > maxID {
		return resolved{}, fmt.Errorf("resolve user %q: %w: uid/gid out of range", spec, ErrInvalidOption)
	}
	r := resolved{uid: uint32(eu.Uid), gid: uint32(eu.Gid), home: eu.Home}
	for _, g := range eu.Sgids {
		if g < 0 || int64(g) > maxID {
			return resolved{}, fmt.Errorf("resolve user %q: %w: group id %d out of range", spec, ErrInvalidOption, g)
		}
		if uint32(g) != r.gid {
			r.groups = append(r.groups, uint32(g))
		}
	}
	if r.home == "" {
		r.home = "/"
	}
	return r, nil
}

// openInRoot opens rel inside root without escaping it; nil when absent
// (an image without /etc/passwd can still use numeric ids). It opens with
// O_NONBLOCK, so a FIFO cannot block it, and refuses anything but a
// regular file.
func openInRoot(root, rel string) (io.Reader, error) {
	dir, err := os.Open(root)
	if err != nil {
		return nil, nil
	}
	defer dir.Close()
	fd, err := confine.Open(int(dir.Fd()), rel, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, nil
	}
	f := os.NewFile(uintptr(fd), filepath.Join(root, rel))
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("/%s in the image is %s, not a regular file", rel, kind(st.Mode()))
	}
	return f, nil
}

// kind names a non-regular file type.
func kind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return "of type " + m.Type().String()
}

func closeReader(r io.Reader) {
	if c, ok := r.(io.Closer); ok {
		_ = c.Close()
	}
}
