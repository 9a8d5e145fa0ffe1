package runner

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/mediatype"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/confine"
)

var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"nosuid": {false, unix.MS_NOSUID}, "suid": {true, unix.MS_NOSUID},
	"nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC},
	"sync": {false, unix.MS_SYNCHRONOUS}, "async": {true, unix.MS_SYNCHRONOUS},
	"noatime": {false, unix.MS_NOATIME}, "atime": {true, unix.MS_NOATIME},
	"nodiratime": {false, unix.MS_NODIRATIME}, "relatime": {false, unix.MS_RELATIME},
	"strictatime": {false, unix.MS_STRICTATIME}, "bind": {false, unix.MS_BIND},
	"rbind": {false, unix.MS_BIND | unix.MS_REC}, "defaults": {false, 0},
}

var propFlags = map[string]uintptr{
	"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
	"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
	"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
	"unbindable": unix.MS_UNBINDABLE, "runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// parseOptions splits mount options into flags, propagation and fs data.
func parseOptions(opts []string) (flags, prop uintptr, data string) {
	var d []string
	for _, o := range opts {
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
		} else if p, ok := propFlags[o]; ok {
			prop |= p
		} else {
			d = append(d, o)
		}
	}
	return flags, prop, strings.Join(d, ",")
}

// setupRootfs builds the container's filesystem view and pivots into it.
func setupRootfs(cfg *initConfig, tr *tracer) error {
	s := cfg.Spec
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	root := s.Root.Path
	if len(cfg.RootMounts) == 0 {
		if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind rootfs %s: %w", root, err)
		}
	}
	var rootFlags uintptr // flags of a bind RootMount, applied at the end
	for _, m := range cfg.RootMounts {
		f, err := mountRoot(m, root)
		if err != nil {
			return err
		}
		rootFlags |= f
	}
	var below []int // the rootfs's own submounts, for a read-only root
	if rootFlags&unix.MS_RDONLY != 0 || s.Root.Readonly {
		var err error
		if below, err = rootSubmounts(root); err != nil {
			return err
		}
		defer closeAll(below)
	}
	rootfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer unix.Close(rootfd)
	tr.mark("root mounts")
	devTmpfs := false
	for _, m := range s.Mounts {
		if err := mountOne(rootfd, m, cfg); err != nil {
			return err
		}
		tr.mark("mount " + m.Destination)
		if path.Clean(m.Destination) == "/dev" && m.Type == "tmpfs" {
			devTmpfs = true
		}
	}
	if devTmpfs {
		if err := setupDev(rootfd); err != nil {
			return err
		}
	}
	if err := addDevices(rootfd, s.Linux.Devices); err != nil {
		return err
	}
	if fd, err := confine.MkdirAll(rootfd, s.Process.Cwd, false); err == nil {
		unix.Close(fd)
	}
	tr.mark("dev")
	if err := pivot(root); err != nil {
		return err
	}
	tr.mark("pivot_root")
	if len(s.Linux.MaskedPaths) > 0 {
		null, err := openDevNull()
		if err != nil {
			return err
		}
		defer unix.Close(null)
		for _, p := range s.Linux.MaskedPaths {
			if err := maskPath(p, null); err != nil {
				return err
			}
		}
	}
	for _, p := range s.Linux.ReadonlyPaths {
		if err := readonlyPath(p); err != nil {
			return err
		}
	}
	tr.mark("masked+readonly paths")
	if s.Root.Readonly {
		rootFlags |= unix.MS_RDONLY
	}
	if rootFlags != 0 {
		if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|rootFlags, ""); err != nil {
			return fmt.Errorf("make rootfs read-only: %w", err)
		}
	}
	if rootFlags&unix.MS_RDONLY != 0 {
		return rdonlyRootSubmounts(below)
	}
	return nil
}

// rdonlyRootSubmounts makes the mounts that came with a read-only rootfs
// read-only too (the spec's own mounts keep their options).
func rdonlyRootSubmounts(below []int) error {
	for _, fd := range below {
		if err := unix.Mount("", fdPath(fd), "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("make a mount below the rootfs read-only: %w", err)
		}
		if err := rdonlyTree(fd, "", "a mount below the rootfs"); err != nil {
			return err
		}
	}
	return nil
}

// mountOne mounts m at its destination resolved inside the rootfs.
func mountOne(rootfd int, m specs.Mount, cfg *initConfig) error {
	flags, prop, data := parseOptions(m.Options)
	isBind := flags&unix.MS_BIND != 0 || m.Type == "bind"
	file := false
	if isBind {
		st, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("mount %s: source: %w", m.Destination, err)
		}
		file = !st.IsDir()
		flags |= unix.MS_BIND
	}
	fd, err := confine.MkdirAll(rootfd, m.Destination, file)
	if err != nil {
		return fmt.Errorf("mount %s: %w", m.Destination, err)
	}
	target := fdPath(fd)
	defer unix.Close(fd)
	switch {
	case isBind:
		if err := unix.Mount(m.Source, target, "", flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
			return fmt.Errorf("bind %s on %s: %w", m.Source, m.Destination, err)
		}
		if rest := flags &^ (unix.MS_BIND | unix.MS_REC); rest != 0 {
			// The fd points below the new mount: reopen to reach it.
			nfd, err := openInRoot(rootfd, m.Destination)
			if err != nil {
				return fmt.Errorf("reopen %s: %w", m.Destination, err)
			}
			defer unix.Close(nfd)
			target = fdPath(nfd)
			if err := remountBind(target, rest); err != nil {
				return fmt.Errorf("remount %s: %w", m.Destination, err)
			}
			if rest&unix.MS_RDONLY != 0 {
				if err := rdonlyTree(nfd, "", m.Destination); err != nil {
					return err
				}
			}
		}
	case m.Type == "cgroup":
		return mountCgroup(rootfd, target, m.Destination, flags, cfg.CgroupV1)
	default:
		err := unix.Mount(m.Source, target, m.Type, flags, data)
		if err == unix.EINVAL && m.Type == "devpts" && strings.Contains(data, "gid=") {
			// A user namespace that maps only its root has no gid 5
			// (tty): the ptys keep the opener's group.
			err = unix.Mount(m.Source, target, m.Type, flags, strings.Join(withoutKey(strings.Split(data, ","), "gid"), ","))
		}
		if err != nil {
			if m.Type == "sysfs" && err == unix.EPERM {
				// In a user namespace sysfs mounts only with a network
				// namespace of its own (not --network host): bind the
				// host's /sys instead, as runc does rootless.
				return mountOne(rootfd, specs.Mount{Destination: m.Destination, Type: "bind", Source: "/sys",
					Options: append([]string{"rbind"}, m.Options...)}, cfg)
			}
			return fmt.Errorf("mount %s on %s: %w", m.Type, m.Destination, err)
		}
	}
	if prop != 0 {
		nfd, err := openInRoot(rootfd, m.Destination)
		if err != nil {
			return fmt.Errorf("reopen %s: %w", m.Destination, err)
		}
		defer unix.Close(nfd)
		if err := unix.Mount("", fdPath(nfd), "", prop, ""); err != nil {
			return fmt.Errorf("set propagation of %s: %w", m.Destination, err)
		}
	}
	return nil
}

// mountCgroup mounts the container's cgroup view: cgroup2 on a unified
// host; otherwise a tmpfs holding one mount per v1 hierarchy (each shows
// the container's cgroup as its root, thanks to the cgroup namespace).
func mountCgroup(rootfd int, target, dest string, flags uintptr, v1 []string) error {
	if len(v1) == 0 {
		if err := unix.Mount("cgroup2", target, "cgroup2", flags, ""); err != nil {
			return fmt.Errorf("mount cgroup2 on %s: %w", dest, err)
		}
		return nil
	}
	if err := unix.Mount("tmpfs", target, "tmpfs", flags&^unix.MS_RDONLY, "mode=755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dest, err)
	}
	for _, opt := range v1 {
		name := strings.TrimPrefix(opt, "name=")
		fd, err := confine.MkdirAll(rootfd, path.Join(dest, name), false)
		if err != nil {
			return fmt.Errorf("mount cgroup %s: %w", opt, err)
		}
		err = unix.Mount("cgroup", fdPath(fd), "cgroup", flags, opt)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("mount cgroup %s on %s: %w", opt, dest, err)
		}
	}
	if flags&unix.MS_RDONLY != 0 {
		fd, err := openInRoot(rootfd, dest)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.Mount("", fdPath(fd), "", unix.MS_REMOUNT|flags, "mode=755"); err != nil {
			return fmt.Errorf("remount %s read-only: %w", dest, err)
		}
	}
	return nil
}

// pivot makes root the new / with pivot_root (never chroot) and detaches
// the old root.
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir rootfs: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("pivot_root: make old root slave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("pivot_root: detach old root: %w", err)
	}
	return unix.Chdir("/")
}

// openDevNull opens the container's /dev/null and checks it is the real
// char device 1:3, not a symlink or file planted to turn a mask into a
// writable bind of something else (runc CVE-2025-31133).
func openDevNull() (int, error) {
	fd, err := unix.Open("/dev/null", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /dev/null: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		unix.Close(fd)
		return -1, fmt.Errorf("/dev/null is not the null device: refusing to mask paths with it")
	}
	return fd, nil
}

func maskPath(p string, null int) error {
	st, err := os.Stat(p)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	if st.IsDir() {
		err = unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "")
	} else {
		err = unix.Mount(fdPath(null), p, "", unix.MS_BIND, "")
	}
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("mask %s: %w", p, err)
	}
	return nil
}

func readonlyPath(p string) error {
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("read-only %s: %w", p, err)
	}
	var st unix.Statfs_t
	_ = unix.Statfs(p, &st)
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep, ""); err != nil {
		return fmt.Errorf("read-only %s: %w", p, err)
	}
	return rdonlyTree(unix.AT_FDCWD, p, p)
}

// maxMountData is the kernel's limit on mount options (one page, with NUL).
const maxMountData = 4095

// mountRoot mounts one RootMount on root. Overlay options longer than a
// page (many layers with long paths) are passed one lower layer at a time
// with the new mount API (lowerdir+, kernel >= 6.8), else shortened by
// mounting from the layers' common parent directory with relative paths.
// A bind mount's flags (ro...) are returned to be applied once the
// mountpoints inside exist (missing ones are created in the bound directory).
func mountRoot(m specs.Mount, root string) (uintptr, error) {
	flags, _, data := parseOptions(m.Options)
	if m.Type == "overlay" && len(data) > maxMountData {
		err := mountOverlayEach(data, flags, root)
		if err == nil || !errors.Is(err, errNoLowerdirPlus) {
			return 0, err
		}
		dir, short := relativeOverlay(data)
		if dir != "" {
			if err := unix.Chdir(dir); err != nil {
				return 0, fmt.Errorf("mount overlay rootfs: chdir %s: %w", dir, err)
			}
			defer unix.Chdir("/")
			data = short
		}
		if len(data) > maxMountData {
			return 0, fmt.Errorf("mount overlay rootfs: %d layers: options are %d bytes even with relative paths, the kernel takes %d; kernel 6.8 or later takes up to %d layers",
				strings.Count(data, ":")+1, len(data), maxMountData, mediatype.MaxLayers)
		}
	}
	if flags&unix.MS_BIND != 0 || m.Type == "bind" {
		// A single read-only layer: bind, then apply flags by remount.
		if err := unix.Mount(m.Source, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return 0, fmt.Errorf("bind rootfs %s on %s: %w", m.Source, root, err)
		}
		return flags &^ (unix.MS_BIND | unix.MS_REC), nil
	}
	if err := unix.Mount(m.Source, root, m.Type, flags, data); err != nil {
		if len(data) > 200 {
			data = data[:200] + "..."
		}
		return 0, fmt.Errorf("mount %s rootfs on %s (%s): %w", m.Type, root, data, err)
	}
	return 0, nil
}

// errNoLowerdirPlus: the kernel's overlayfs does not take "lowerdir+".
var errNoLowerdirPlus = errors.New("overlayfs lacks lowerdir+ (kernel < 6.8)")

// mountOverlayEach mounts overlayfs on target with the new mount API,
// passing each lower layer in its own "lowerdir+" call, so the number of
// layers is not bounded by the page that mount(2) options fit in.
func mountOverlayEach(data string, flags uintptr, target string) error {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("%w: fsopen: %v", errNoLowerdirPlus, err)
	}
	defer unix.Close(fsfd)
	for _, o := range strings.Split(data, ",") {
		k, v, hasValue := strings.Cut(o, "=")
		switch {
		case k == "lowerdir":
			for _, l := range strings.Split(v, ":") {
				if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
					if err == unix.EINVAL {
						return fmt.Errorf("%w: %v", errNoLowerdirPlus, err)
					}
					return fmt.Errorf("mount overlay rootfs: lower layer %s: %w", l, err)
				}
			}
		case hasValue:
			err = unix.FsconfigSetString(fsfd, k, v)
		default:
			err = unix.FsconfigSetFlag(fsfd, k)
		}
		if err != nil {
			return fmt.Errorf("mount overlay rootfs: option %s: %w", k, err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("mount overlay rootfs: create: %w", err)
	}
	var attr int
	for f, a := range map[uintptr]int{unix.MS_RDONLY: unix.MOUNT_ATTR_RDONLY, unix.MS_NOSUID: unix.MOUNT_ATTR_NOSUID,
		unix.MS_NODEV: unix.MOUNT_ATTR_NODEV, unix.MS_NOEXEC: unix.MOUNT_ATTR_NOEXEC} {
		if flags&f != 0 {
			attr |= a
		}
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attr)
	if err != nil {
		return fmt.Errorf("mount overlay rootfs: fsmount: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount overlay rootfs on %s: %w", target, err)
	}
	return nil
}

// relativeOverlay rewrites the lowerdir/upperdir/workdir paths of overlay
// options relative to their longest common parent directory.
func relativeOverlay(data string) (string, string) {
	opts := strings.Split(data, ",")
	var paths []string
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "lowerdir":
			paths = append(paths, strings.Split(v, ":")...)
		case "upperdir", "workdir":
			paths = append(paths, v)
		}
	}
	if len(paths) == 0 {
		return "", data
	}
	common := path.Dir(paths[0])
	for _, p := range paths[1:] {
		for common != "/" && !strings.HasPrefix(p, common+"/") {
			common = path.Dir(common)
		}
	}
	if common == "/" || !path.IsAbs(common) {
		return "", data
	}
	rel := func(p string) string { return strings.TrimPrefix(p, common+"/") }
	for i, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "lowerdir":
			parts := strings.Split(v, ":")
			for j := range parts {
				parts[j] = rel(parts[j])
			}
			opts[i] = k + "=" + strings.Join(parts, ":")
		case "upperdir", "workdir":
			opts[i] = k + "=" + rel(v)
		}
	}
	return common, strings.Join(opts, ",")
}

// remountBind applies flags to the bind mount at target. In a user
// namespace the nosuid, nodev and noexec flags a mount came with from the
// host are locked: a remount must keep them (EPERM otherwise), so they are
// added and the remount tried again.
func remountBind(target string, flags uintptr) error {
	err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|flags, "")
	if err != unix.EPERM {
		return err
	}
	var st unix.Statfs_t
	if unix.Statfs(target, &st) != nil {
		return err
	}
	locked := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if locked&^flags == 0 {
		return err
	}
	return unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|flags|locked, "")
}

// withoutKey drops the key=... entries of list (mount options, an
// environment).
func withoutKey(list []string, key string) []string {
	var keep []string
	for _, kv := range list {
		if !strings.HasPrefix(kv, key+"=") {
			keep = append(keep, kv)
		}
	}
	return keep
}
