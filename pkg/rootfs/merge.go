package rootfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/layers"
	"github.com/ctrlite/ctr-lite/unpack"
	"golang.org/x/sys/unix"
)

// errNoWorkDir: no work directory beside the target on its filesystem
// (the parent is read-only, or the target is a mount point): the layers
// are applied one after the other instead.
var errNoWorkDir = errors.New("no work directory beside the target")

// flattenParallel applies every layer in overlay form, in parallel, into
// directories beside dir, then merges them into dir bottom-up: a whiteout
// removes, an opaque directory empties, a directory dir does not have yet
// and every non-directory move in by one rename. A hardlink to a lower
// layer's file was copied up with its whole group, so links stay links.
func flattenParallel(ctx context.Context, img *image.Image, dir string, open content.Opener, opts Options, budget *unpack.Budget) (unpack.Stats, error) {
	var total unpack.Stats
	work, err := os.MkdirTemp(filepath.Dir(dir), ".ctr-lite-unpack-")
	if err != nil {
		return total, errNoWorkDir
	}
	defer removeTree(work)
	if !sameFS(work, dir) {
		return total, errNoWorkDir
	}
	descs := img.Manifest.Layers
	diffIDs := img.DiffIDs()
	dirs := make([]string, len(descs))
	stats := make([]unpack.Stats, len(descs))
	for i := range dirs {
		dirs[i] = filepath.Join(work, strconv.Itoa(i))
		if err := os.Mkdir(dirs[i], 0o755); err != nil {
			return total, err
		}
	}
	var mu sync.Mutex
	err = layers.Run(ctx, len(descs), runtime.GOMAXPROCS(0), func(ctx context.Context, i int, wait func() error) error {
		blob, err := open(ctx, descs[i])
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		defer blob.Close()
		lowers := make([]string, i)
		for j := 0; j < i; j++ {
			lowers[i-1-j] = dirs[j]
		}
		got, st, err := unpack.ApplyLayer(ctx, dirs[i], blob, descs[i].MediaType,
			unpack.Options{Mode: unpack.Overlay, Lowers: lowers, WaitLowers: wait, Skipped: opts.Skipped, Budget: budget})
		if err != nil {
			return fmt.Errorf("layer %d %s: %w", i+1, descs[i].Digest, err)
		}
		if i < len(diffIDs) && got != diffIDs[i] {
			return fmt.Errorf("layer %d %s: uncompressed digest %s, config says %s: %w", i+1, descs[i].Digest, got, diffIDs[i], errdefs.ErrDiffIDMismatch)
		}
		mu.Lock()
		stats[i] = st
		mu.Unlock()
		return nil
	})
	if err != nil {
		return total, err
	}
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return total, err
	}
	defer unix.Close(root)
	for i, d := range dirs {
		if err := mergeLayer(d, root, dir, stats[i].Whiteouts > 0); err != nil {
			return total, fmt.Errorf("layer %d: merge: %w", i+1, err)
		}
		add(&total, stats[i])
	}
	return total, nil
}

// mergeLayer moves one overlay-form layer directory into the tree at root
// (an fd of rootPath). markers says the layer has whiteouts or opaque
// directories, whose leftovers must not survive in a moved subtree.
func mergeLayer(layerDir string, root int, rootPath string, markers bool) error {
	src, err := unix.Open(layerDir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(src)
	if unpack.IsOpaque(src) {
		// ".wh..wh..opq" at the layer root: the lower layers' tree goes.
		if err := emptyDir(root, ""); err != nil {
			return err
		}
	}
	var moved []string
	if err := mergeDir(src, root, "", &moved); err != nil {
		return err
	}
	if markers {
		for _, rel := range moved {
			if err := stripMarkers(filepath.Join(rootPath, rel)); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeDir merges the directory src into dst; both are fds opened with
// O_NOFOLLOW, and every operation is relative to them, so nothing follows
// a symlink of the tree being built. rel is dst's path, for messages and
// for the list of subtrees moved whole.
func mergeDir(src, dst int, rel string, moved *[]string) error {
	names, err := readNames(src)
	if err != nil {
		return fmt.Errorf("read %q: %w", "/"+rel, err)
	}
	for _, name := range names {
		path := joinRel(rel, name)
		var s unix.Stat_t
		if err := unix.Fstatat(src, name, &s, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if s.Mode&unix.S_IFMT == unix.S_IFCHR && s.Rdev == 0 { // a whiteout
			if err := removeAt(dst, name); err != nil {
				return fmt.Errorf("whiteout %q: %w", "/"+path, err)
			}
			continue
		}
		var d unix.Stat_t
		derr := unix.Fstatat(dst, name, &d, unix.AT_SYMLINK_NOFOLLOW)
		if derr != nil && derr != unix.ENOENT {
			return derr
		}
		exists := derr == nil
		if s.Mode&unix.S_IFMT == unix.S_IFDIR && exists && d.Mode&unix.S_IFMT == unix.S_IFDIR {
			if err := mergeSubdir(src, dst, name, path, &s, moved); err != nil {
				return err
			}
			continue
		}
		if exists && (d.Mode&unix.S_IFMT == unix.S_IFDIR || s.Mode&unix.S_IFMT == unix.S_IFDIR) {
			if err := removeAt(dst, name); err != nil {
				return fmt.Errorf("replace %q: %w", "/"+path, err)
			}
		}
		if err := unix.Renameat(src, name, dst, name); err != nil {
			return fmt.Errorf("move %q: %w", "/"+path, err)
		}
		if s.Mode&unix.S_IFMT == unix.S_IFDIR {
			*moved = append(*moved, path)
		}
	}
	return nil
}

// mergeSubdir merges directory name of src into the existing directory of
// dst, then gives it the layer's owner, mode and times, as applying the
// layer's directory entry would.
func mergeSubdir(src, dst int, name, path string, s *unix.Stat_t, moved *[]string) error {
	sfd, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sfd)
	dfd, err := unix.Openat(dst, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	if unpack.IsOpaque(sfd) {
		if err := emptyDir(dfd, path); err != nil {
			return err
		}
	}
	if err := mergeDir(sfd, dfd, path, moved); err != nil {
		return err
	}
	if err := unix.Fchown(dfd, int(s.Uid), int(s.Gid)); err != nil {
		return fmt.Errorf("chown %q: %w", "/"+path, err)
	}
	if err := unix.Fchmod(dfd, s.Mode&0o7777); err != nil {
		return fmt.Errorf("chmod %q: %w", "/"+path, err)
	}
	if err := copyXattrs(sfd, dfd); err != nil {
		return fmt.Errorf("xattrs %q: %w", "/"+path, err)
	}
	ts := []unix.Timespec{s.Atim, s.Mtim}
	if err := unix.UtimesNanoAt(dst, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("times %q: %w", "/"+path, err)
	}
	return nil
}

var overlayXattrs = []string{"trusted.overlay.", "user.overlay."}

func isOverlayXattr(name string) bool {
	for _, p := range overlayXattrs {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// emptyDir removes everything in the directory fd (in-tree path rel), for
// an opaque marker.
func emptyDir(fd int, rel string) error {
	names, err := readNames(fd)
	if err != nil {
		return fmt.Errorf("opaque %q: %w", "/"+rel, err)
	}
	for _, n := range names {
		if err := removeAt(fd, n); err != nil {
			return fmt.Errorf("opaque %q: %w", "/"+rel, err)
		}
	}
	return nil
}

// copyXattrs sets src's extended attributes, but the overlay markers, on dst.
func copyXattrs(src, dst int) error {
	names, err := listXattrs(src)
	if err != nil {
		return err
	}
	for _, n := range names {
		if isOverlayXattr(n) {
			continue
		}
		sz, err := unix.Fgetxattr(src, n, nil)
		if err != nil {
			return err
		}
		val := make([]byte, sz)
		if sz, err = unix.Fgetxattr(src, n, val); err != nil {
			return err
		}
		if err := unix.Fsetxattr(dst, n, val[:sz], 0); err != nil {
			return err
		}
	}
	return nil
}

func listXattrs(fd int) ([]string, error) {
	sz, err := unix.Flistxattr(fd, nil)
	if err != nil || sz == 0 {
		return nil, err
	}
	buf := make([]byte, sz)
	if sz, err = unix.Flistxattr(fd, buf); err != nil {
		return nil, err
	}
	var out []string
	for _, n := range strings.Split(string(buf[:sz]), "\x00") {
		if n != "" {
			out = append(out, n)
		}
	}
	return out, nil
}

// stripMarkers removes, inside a subtree moved whole, the whiteout devices
// and opaque markers that had nothing below them to act on.
func stripMarkers(top string) error {
	return filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.Type()&os.ModeCharDevice != 0:
			var st unix.Stat_t
			if unix.Lstat(p, &st) == nil && st.Rdev == 0 {
				return os.Remove(p)
			}
		case d.IsDir():
			for _, a := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
				if err := unix.Lremovexattr(p, a); err != nil && err != unix.ENODATA && err != unix.ENOTSUP {
					return fmt.Errorf("remove %s on %s: %w", a, p, err)
				}
			}
		}
		return nil
	})
}

// removeAt removes name in dir fd, recursively, never following a symlink;
// a missing name is not an error.
func removeAt(fd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(fd, name, 0)
	}
	sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	names, err := readNames(sub)
	if err == nil {
		for _, n := range names {
			if err = removeAt(sub, n); err != nil {
				break
			}
		}
	}
	unix.Close(sub)
	if err != nil {
		return err
	}
	return unix.Unlinkat(fd, name, unix.AT_REMOVEDIR)
}

// readNames lists a directory fd without changing its offset for others.
func readNames(fd int) ([]string, error) {
	dup, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

func joinRel(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}

func sameFS(a, b string) bool {
	var sa, sb unix.Stat_t
	return unix.Stat(a, &sa) == nil && unix.Stat(b, &sb) == nil && sa.Dev == sb.Dev
}

// emptyTarget removes everything in dir (a failed unpack's partial tree),
// never following a symlink, whatever modes the layers gave directories.
func emptyTarget(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if emptyDir(fd, "") == nil {
		return nil
	}
	// Not root: directories without write permission must be opened up.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			unix.Fchmodat(unix.AT_FDCWD, p, 0o700, 0)
		}
		return nil
	})
	return emptyDir(fd, "")
}

// removeTree removes the work directory, whatever modes layers gave it.
func removeTree(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(dir)
}
