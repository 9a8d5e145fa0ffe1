package dataroot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Root is an open data directory. It holds no state beyond its path and
// the rootless decision: any number of processes may open the same root.
type Root struct {
	dir      string
	rootless bool
	userNS   bool
}

// Open opens the data directory dir, creating it (0700) when missing. An
// existing directory is used as it is: its mode is never changed.
func Open(dir string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open root %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return nil, fmt.Errorf("open root %s: %w", dir, err)
		}
	case err != nil:
		return nil, fmt.Errorf("open root %s: %w", dir, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("open root %s: not a directory", dir)
	}
	rootless := os.Geteuid() != 0
	return &Root{dir: abs, rootless: rootless, userNS: !rootless && inUserNS()}, nil
}

// Path is the root directory (absolute).
func (r *Root) Path() string { return r.dir }

// Rootless reports whether the root is used without privilege: layers are
// unpacked without device nodes or chown, and containers cannot mount
// overlayfs on the host. It is decided once, when the root is opened.
func (r *Root) Rootless() bool { return r.rootless }

// UserNS reports whether the root is used by root of a user namespace (an
// ordinary user's commands re-run by package userns, or root in a
// container): layers are chowned to the ids the namespace maps, device
// nodes are skipped, overlayfs takes its opaque markers from user.*
// xattrs (mount option userxattr), and there is no cgroup unless one is
// delegated. It is decided once, when the root is opened.
func (r *Root) UserNS() bool { return r.userNS }

// inUserNS reports whether this process is in a user namespace other
// than the initial one, whose uid_map maps the whole id space to itself.
func inUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

// Dir is the directory of part (and, with elem, a path inside it). It is
// not created: a part makes its directory when it first writes, so a
// read-only root can be read.
func (r *Root) Dir(part string, elem ...string) string {
	return filepath.Join(append([]string{r.dir, part}, elem...)...)
}

// checkName accepts one plain path element.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%q: %w", name, ErrBadName)
	}
	return nil
}

// ErrBadName: a part or lock name is not one plain path element.
var ErrBadName = errors.New("invalid name")

// The parts of a root, each a directory named so under it.
const (
	Content    = "content"    // the OCI image layout (package content)
	Ingest     = "ingest"     // content's partial downloads
	Snapshots  = "snapshots"  // unpacked layers by chain ID (package snapshot)
	Containers = "containers" // container records (package container)
)

// OverlayProbe is the file that caches whether overlayfs mounts work for
// containers under the root.
const OverlayProbe = "overlay-probe"
