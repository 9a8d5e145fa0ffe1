package confine

import (
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// maxHops is how many symlinks one resolution may follow (the kernel's
// MAXSYMLINKS).
const maxHops = 40

// noOpenat2 is set once openat2 returned ENOSYS.
var noOpenat2 atomic.Bool

// Open opens p inside the tree at rootfd (a directory fd, O_PATH is
// enough) with flags, adding O_CLOEXEC. p is taken relative to the tree
// whether or not it starts with "/". flags must not hold O_CREAT. The last
// component is followed unless flags holds O_NOFOLLOW.
func Open(rootfd int, p string, flags int) (int, error) {
	if !noOpenat2.Load() {
		how := unix.OpenHow{
			Flags:   uint64(flags | unix.O_CLOEXEC),
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		}
		rel := relative(p)
		for range 16 {
			fd, err := unix.Openat2(rootfd, rel, &how)
			switch err {
			case unix.EAGAIN, unix.EINTR:
				continue // a rename raced with the lookup
			case unix.ENOSYS:
				noOpenat2.Store(true)
				return Walk(rootfd, p, flags)
			}
			return fd, err
		}
		return -1, unix.EAGAIN
	}
	return Walk(rootfd, p, flags)
}

// relative strips p's leading slashes; "" is the tree's top.
func relative(p string) string {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return "."
	}
	return p
}

// Walk is Open without openat2: it resolves p one component at a time,
// opening each with O_PATH|O_NOFOLLOW from the directory before it and
// splicing symlink targets into the rest of the path (absolute ones from
// the top).
func Walk(rootfd int, p string, flags int) (int, error) {
	var stack []int // directories walked into; the last is the current one
	defer func() {
		for _, fd := range stack {
			unix.Close(fd)
		}
	}()
	cur := func() int {
		if len(stack) == 0 {
			return rootfd
		}
		return stack[len(stack)-1]
	}
	pop := func() {
		if n := len(stack); n > 0 {
			unix.Close(stack[n-1])
			stack = stack[:n-1]
		}
	}
	comps := strings.Split(p, "/")
	hops := 0
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			pop()
			continue
		}
		last := isLast(comps)
		fd, err := unix.Openat(cur(), c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			stack = append(stack, fd)
			continue
		case unix.S_IFLNK:
			if !last || flags&unix.O_NOFOLLOW == 0 {
				target, err := Readlink(fd)
				unix.Close(fd)
				if err != nil {
					return -1, err
				}
				if hops++; hops > maxHops {
					return -1, unix.ELOOP
				}
				if strings.HasPrefix(target, "/") {
					for len(stack) > 0 {
						pop()
					}
				}
				comps = append(strings.Split(target, "/"), comps...)
				continue
			}
		}
		// Not a directory, and not a symlink to follow.
		if !last {
			unix.Close(fd)
			return -1, unix.ENOTDIR
		}
		if flags&unix.O_DIRECTORY != 0 {
			unix.Close(fd)
			return -1, unix.ENOTDIR
		}
		if flags&unix.O_PATH != 0 {
			return fd, nil
		}
		unix.Close(fd)
		// O_NOFOLLOW: had it been swapped for a symlink, this fails.
		return unix.Openat(cur(), c, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	// The path ends on a directory.
	return unix.Openat(cur(), ".", flags|unix.O_CLOEXEC, 0)
}

// isLast reports whether comps, the rest of a path, names nothing more.
func isLast(comps []string) bool {
	for _, c := range comps {
		if c != "" && c != "." {
			return false
		}
	}
	return true
}

// Readlink reads the target of a symlink opened with O_PATH|O_NOFOLLOW.
func Readlink(fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", err
	}
	if n == len(buf) {
		return "", unix.ENAMETOOLONG
	}
	return string(buf[:n]), nil
}
