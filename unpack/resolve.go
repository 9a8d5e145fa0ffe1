package unpack

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// forceWalk makes every root use the component-by-component walk instead of
// openat2 (tests exercise both resolvers).
var forceWalk = false

// root is a directory treated as "/" for path resolution. It keeps an
// O_PATH fd on the directory and a small cache of resolved directory fds.
type root struct {
	fd    int
	path  string
	walk  bool // openat2 is unavailable: use the walk
	dirty bool // something was removed: flush the cache before the next entry
	cache map[string]int
}

func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	return &root{fd: fd, path: dir, walk: forceWalk, cache: map[string]int{}}, nil
}

func (r *root) close() {
	r.flush()
	unix.Close(r.fd)
}

// flush closes every cached fd. Called whenever something is removed (a
// cached path may no longer name the same directory) and when the cache is
// full, always between entries so no fd in use is closed.
func (r *root) flush() {
	r.dirty = false
	for k, fd := range r.cache {
		unix.Close(fd)
		delete(r.cache, k)
	}
}

// dir returns an fd (O_PATH) for the directory rel ("" is the root),
// resolved in the root. The fd belongs to the cache: do not close it.
func (r *root) dir(rel string) (int, error) {
	if rel == "" {
		return r.fd, nil
	}
	if fd, ok := r.cache[rel]; ok {
		return fd, nil
	}
	fd, err := r.resolve(rel)
	if err != nil {
		return -1, err
	}
	r.cache[rel] = fd
	return fd, nil
}

// resolve opens rel as a directory with in-root semantics and returns a new fd.
func (r *root) resolve(rel string) (int, error) {
	if !r.walk {
		how := unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		}
		for range 16 {
			fd, err := unix.Openat2(r.fd, rel, &how)
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			if err == unix.ENOSYS {
				r.walk = true
				break
			}
			return fd, err
		}
		if !r.walk {
			return -1, unix.EAGAIN
		}
	}
	return r.walkDir(rel)
}

// walkDir resolves rel one component at a time, following symlinks as if
// the root were "/": ".." never goes above the root and absolute link
// targets restart from the root.
func (r *root) walkDir(rel string) (int, error) {
	var stack []int // fds of the directories walked into, the last is current
	closeAll := func() {
		for _, fd := range stack {
			unix.Close(fd)
		}
		stack = nil
	}
	comps := strings.Split(rel, "/")
	hops := 0
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if n := len(stack); n > 0 {
				unix.Close(stack[n-1])
				stack = stack[:n-1]
			}
			continue
		}
		cur := r.fd
		if n := len(stack); n > 0 {
			cur = stack[n-1]
		}
		fd, err := unix.Openat(cur, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			closeAll()
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			closeAll()
			return -1, err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			stack = append(stack, fd)
		case unix.S_IFLNK:
			hops++
			target, err := readlinkFd(fd)
			unix.Close(fd)
			if err != nil {
				closeAll()
				return -1, err
			}
			if hops > maxSymlinkHops {
				closeAll()
				return -1, unix.ELOOP
			}
			if strings.HasPrefix(target, "/") {
				closeAll()
			}
			comps = append(strings.Split(target, "/"), comps...)
		default:
			unix.Close(fd)
			closeAll()
			return -1, unix.ENOTDIR
		}
	}
	if len(stack) == 0 {
		return unix.Dup(r.fd)
	}
	top := stack[len(stack)-1]
	for _, fd := range stack[:len(stack)-1] {
		unix.Close(fd)
	}
	return top, nil
}

// readlinkFd reads the target of a symlink opened with O_PATH|O_NOFOLLOW.
func readlinkFd(fd int) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		if len(buf) >= maxNameLen {
			return "", ErrLimit
		}
		buf = make([]byte, len(buf)*2)
	}
}

// splitName cleans a tar entry name into its in-root form ("" is the root)
// and rejects names that can never be applied safely.
func splitName(name string) (string, error) {
	if len(name) > maxNameLen {
		return "", fmt.Errorf("name of %d bytes: %w", len(name), ErrLimit)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("NUL in name: %w", ErrUnsafePath)
	}
	var out []string
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return "", fmt.Errorf("%q has a .. component: %w", name, ErrUnsafePath)
		}
		if len(c) > 255 {
			return "", fmt.Errorf("component of %d bytes: %w", len(c), ErrLimit)
		}
		out = append(out, c)
	}
	return strings.Join(out, "/"), nil
}

// parentBase splits a clean in-root path into its parent and last component.
func parentBase(p string) (string, string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}
