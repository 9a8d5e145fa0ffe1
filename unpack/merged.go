package unpack

import (
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// mergedPath rewrites the directory path rel the way the merged overlay
// view resolves it (Overlay mode with lower layers): a component this layer
// does not have but the top-most lower layer has as a symlink is followed,
// in-root. Without this, an entry "lib/x" over a lower "lib -> usr/lib"
// would create an upper directory "lib" that hides the symlink.
func (a *applier) mergedPath(rel string) (string, error) {
	if a.opts.Mode != Overlay || len(a.opts.Lowers) == 0 || rel == "" {
		return rel, nil
	}
	if _, err := a.root.dir(rel); err == nil {
		return rel, nil // the upper layer has it: it hides the lowers
	}
	comps := strings.Split(rel, "/")
	hops := 0
	for i := 0; i < len(comps); i++ {
		parent, base := strings.Join(comps[:i], "/"), comps[i]
		if pfd, err := a.root.dir(parent); err == nil {
			var st unix.Stat_t
			if unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				continue
			}
		}
		_, _, lpfd, lst, ok, err := a.findLower(parent, base)
		if err != nil {
			return "", err
		}
		if !ok || lst.Mode&unix.S_IFMT != unix.S_IFLNK {
			continue
		}
		if hops++; hops > maxSymlinkHops {
			return "", ErrBreakout
		}
		target, err := readlinkAt(lpfd, base)
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(target, "/") {
			target = parent + "/" + target
		}
		np := strings.TrimPrefix(path.Clean("/"+target), "/")
		rest := comps[i+1:]
		comps = nil
		if np != "" {
			comps = strings.Split(np, "/")
		}
		comps = append(comps, rest...)
		i = -1
	}
	return strings.Join(comps, "/"), nil
}

// lowerGroup returns the other paths of lower layer i that share the inode
// ino (a hardlink group), indexing the layer on first use.
func (a *applier) lowerGroup(i int, ino uint64, self string) []string {
	if a.lowerInodes == nil {
		a.lowerInodes = map[int]map[uint64][]string{}
	}
	idx, ok := a.lowerInodes[i]
	if !ok {
		idx = map[uint64][]string{}
		dir := a.opts.Lowers[i]
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			var st unix.Stat_t
			if unix.Lstat(p, &st) == nil && st.Nlink > 1 {
				rel, _ := filepath.Rel(dir, p)
				idx[st.Ino] = append(idx[st.Ino], filepath.ToSlash(rel))
			}
			return nil
		})
		a.lowerInodes[i] = idx
	}
	var out []string
	for _, p := range idx[ino] {
		if p != self {
			out = append(out, p)
		}
	}
	return out
}
