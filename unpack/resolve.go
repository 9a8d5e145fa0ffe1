package unpack

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/confine"
)

// forceWalk makes every root use confine's component-by-component walk
// instead of openat2 (tests exercise both resolvers).
var forceWalk = false

// root is a directory treated as "/" for path resolution. It keeps an
// O_PATH fd on the directory and a small cache of resolved directory fds.
type root struct {
	fd    int
	path  string
	walk  bool // use the walk (forceWalk)
	dirty bool // something was removed: flush the cache before the next entry
	cache map[string]int
	// infos caches, by cached fd (and the root's), the directory's
	// identity and what a new file in it is owned by (setgid directories
	// pass their group on).
	infos map[int]dirInfo
}

// dirID identifies a directory whatever path reached it.
type dirID struct{ dev, ino uint64 }

type dirInfo struct {
	id    dirID
	owner dirOwner
}

// dirOwner is what a directory gives a file created in it.
type dirOwner struct {
	setgid bool
	gid    uint32
}

// info returns the identity of the directory at fd (the root or a cached
// fd) and what it gives to a new file, from one fstat per directory.
func (r *root) info(fd int) (dirInfo, error) {
	if i, ok := r.infos[fd]; ok {
		return i, nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return dirInfo{}, err
	}
	i := dirInfo{id: dirID{st.Dev, st.Ino}, owner: dirOwner{setgid: st.Mode&unix.S_ISGID != 0, gid: st.Gid}}
	r.infos[fd] = i
	return i, nil
}

// idOf returns the identity of the directory at fd, any fd (only the
// root's and cached fds are remembered).
func (r *root) idOf(fd int) (dirID, error) {
	if i, ok := r.infos[fd]; ok {
		return i.id, nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return dirID{}, err
	}
	return dirID{st.Dev, st.Ino}, nil
}

// owner returns what the directory at fd gives to a new file.
func (r *root) owner(fd int) (dirOwner, error) {
	i, err := r.info(fd)
	return i.owner, err
}

// changed forgets what is cached of directories: the owner or mode of
// one (maybe cached under several paths) was just set.
func (r *root) changed() { clear(r.infos) }

func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	return &root{fd: fd, path: dir, walk: forceWalk, cache: map[string]int{}, infos: map[int]dirInfo{}}, nil
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
	clear(r.infos)
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
	if r.walk {
		return confine.Walk(r.fd, rel, unix.O_PATH|unix.O_DIRECTORY)
	}
	return confine.Open(r.fd, rel, unix.O_PATH|unix.O_DIRECTORY)
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
