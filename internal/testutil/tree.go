package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Node is what CompareTrees compares of one file system entry.
type Node struct {
	Type   byte   // 'f' file, 'd' dir, 'l' symlink, 'c' char dev, 'b' block dev, 'p' fifo, 's' socket
	Mode   uint32 // permission bits with setuid/setgid/sticky
	UID    uint32
	GID    uint32
	Size   int64  // regular files only
	SHA256 string // regular files only
	Link   string // symlink target
	Rdev   uint64
	Xattrs map[string]string
	MTime  int64    // nanoseconds; filled only when TreeOptions.MTime
	Group  []string // other paths of the same hardlink group (sorted), nil when none
}

// TreeOptions tune Tree and CompareTrees.
type TreeOptions struct {
	MTime        bool     // compare mtimes of non-directories
	IgnoreXattrs []string // xattr name prefixes to leave out
}

// Tree walks dir (without following symlinks) and returns its entries
// keyed by path relative to dir ("/"-separated, the root excluded).
func Tree(t testing.TB, dir string, opts TreeOptions) map[string]Node {
	t.Helper()
	out := map[string]Node{}
	inodes := map[uint64][]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		n := Node{Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			n.Type, n.Size = 'f', st.Size
			sum, err := fileSHA256(p)
			if err != nil {
				return err
			}
			n.SHA256 = sum
		case unix.S_IFDIR:
			n.Type = 'd'
		case unix.S_IFLNK:
			n.Type = 'l'
			if n.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case unix.S_IFCHR:
			n.Type, n.Rdev = 'c', st.Rdev
		case unix.S_IFBLK:
			n.Type, n.Rdev = 'b', st.Rdev
		case unix.S_IFIFO:
			n.Type = 'p'
		default:
			n.Type = 's'
		}
		if n.Type != 'd' && opts.MTime {
			n.MTime = st.Mtim.Nano()
		}
		n.Xattrs = xattrs(p, opts.IgnoreXattrs)
		if n.Type != 'd' && st.Nlink > 1 {
			inodes[st.Ino] = append(inodes[st.Ino], rel)
		}
		out[filepath.ToSlash(rel)] = n
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	for _, paths := range inodes {
		if len(paths) < 2 {
			continue
		}
		sort.Strings(paths)
		for _, p := range paths {
			n := out[p]
			for _, q := range paths {
				if q != p {
					n.Group = append(n.Group, q)
				}
			}
			out[p] = n
		}
	}
	return out
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func xattrs(p string, ignore []string) map[string]string {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz == 0 {
		return nil
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil
	}
	out := map[string]string{}
next:
	for _, k := range strings.Split(strings.TrimRight(string(buf[:sz]), "\x00"), "\x00") {
		for _, pre := range ignore {
			if strings.HasPrefix(k, pre) {
				continue next
			}
		}
		v := make([]byte, 64<<10)
		n, err := unix.Lgetxattr(p, k, v)
		if err != nil && err != syscall.ENODATA {
			continue
		}
		out[k] = string(v[:n])
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// CompareTrees returns one line per difference between the trees at want
// and got: missing or extra paths, and fields that differ.
func CompareTrees(t testing.TB, want, got string, opts TreeOptions) []string {
	t.Helper()
	return DiffTrees(Tree(t, want, opts), Tree(t, got, opts))
}

// DiffTrees compares two trees made by Tree.
func DiffTrees(want, got map[string]Node) []string {
	var diffs []string
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("missing %s (%c)", p, w.Type))
			continue
		}
		if d := diffNode(w, g); d != "" {
			diffs = append(diffs, p+": "+d)
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, fmt.Sprintf("extra %s (%c)", p, g.Type))
		}
	}
	sort.Strings(diffs)
	return diffs
}

func diffNode(w, g Node) string {
	var d []string
	if w.Type != g.Type {
		d = append(d, fmt.Sprintf("type %c != %c", w.Type, g.Type))
	}
	if w.Mode != g.Mode {
		d = append(d, fmt.Sprintf("mode %04o != %04o", w.Mode, g.Mode))
	}
	if w.UID != g.UID || w.GID != g.GID {
		d = append(d, fmt.Sprintf("owner %d:%d != %d:%d", w.UID, w.GID, g.UID, g.GID))
	}
	if w.Size != g.Size || w.SHA256 != g.SHA256 {
		d = append(d, fmt.Sprintf("content %d/%.12s != %d/%.12s", w.Size, w.SHA256, g.Size, g.SHA256))
	}
	if w.Link != g.Link {
		d = append(d, fmt.Sprintf("link %q != %q", w.Link, g.Link))
	}
	if w.Rdev != g.Rdev {
		d = append(d, fmt.Sprintf("rdev %d != %d", w.Rdev, g.Rdev))
	}
	if w.MTime != g.MTime {
		d = append(d, fmt.Sprintf("mtime %d != %d", w.MTime, g.MTime))
	}
	if fmt.Sprint(w.Xattrs) != fmt.Sprint(g.Xattrs) {
		d = append(d, fmt.Sprintf("xattrs %v != %v", w.Xattrs, g.Xattrs))
	}
	if strings.Join(w.Group, ",") != strings.Join(g.Group, ",") {
		d = append(d, fmt.Sprintf("hardlinks %v != %v", w.Group, g.Group))
	}
	return strings.Join(d, "; ")
}

// AssertSameTree fails the test (listing up to 50 differences) unless the
// trees at want and got are the same.
func AssertSameTree(t testing.TB, want, got string, opts TreeOptions) {
	t.Helper()
	diffs := CompareTrees(t, want, got, opts)
	if len(diffs) == 0 {
		return
	}
	if len(diffs) > 50 {
		diffs = append(diffs[:50], fmt.Sprintf("... and %d more", len(diffs)-50))
	}
	t.Errorf("trees %s and %s differ (%d):\n%s", want, got, len(diffs), strings.Join(diffs, "\n"))
}
