package runner

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// highFD is where the sealed binary's descriptor is moved, above the fds
// exec.Cmd dup2s into place in the child (0..4).
const highFD = 100

var (
	exeOnce sync.Once
	exeFile *os.File
	exeErr  error
)

// sealedExe returns a sealed memfd holding a copy of this binary, made once
// per process. The child is exec'd from it, so /proc/<pid>/exe of the
// runner's child is a memfd that cannot be written (F_SEAL_WRITE) and the
// host binary is never reachable from the container (CVE-2019-5736).
//
// The cheap way, tried first, is runc 1.2's: open the binary through a
// private read-only overlayfs mount that is never attached anywhere
// (fsopen/fsmount). Its inode belongs to overlayfs, which has no upper
// layer, so it can never be written, whatever the mount flags. Where that
// is not possible (not root, no overlayfs, a path overlayfs cannot take),
// a sealed memfd copy of the whole binary is made instead.
func sealedExe() (*os.File, error) {
	exeOnce.Do(func() {
		exeFile, exeErr = overlayExe()
		if exeErr != nil {
			exeFile, exeErr = makeSealedExe()
		}
	})
	return exeFile, exeErr
}

// overlayExe opens /proc/self/exe's file through a detached read-only
// overlayfs mount of its directory.
func overlayExe() (*os.File, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("sealed exe: %w", err)
	}
	dir, name := filepath.Split(exe)
	if strings.ContainsAny(exe, ":,\\") || strings.HasSuffix(exe, " (deleted)") {
		return nil, fmt.Errorf("sealed exe: path %q unsuitable for overlayfs", exe)
	}
	// overlayfs wants two lower layers without an upper one: the second is
	// an empty detached tmpfs (an ordinary directory might overlap the
	// first, which overlayfs refuses).
	empty, err := detachedMount("tmpfs", 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(empty)
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("sealed exe: fsopen overlay: %w", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "lowerdir", filepath.Clean(dir)+":"+fdPath(empty)); err != nil {
		return nil, fmt.Errorf("sealed exe: overlay lowerdir: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("sealed exe: create overlay: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("sealed exe: fsmount: %w", err)
	}
	defer unix.Close(mfd)
	fd, err := unix.Openat(mfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sealed exe: open through overlay: %w", err)
	}
	if hi, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, highFD); err == nil {
		unix.Close(fd)
		fd = hi
	}
	return os.NewFile(uintptr(fd), "ctr-lite-overlay-exe"), nil
}

func makeSealedExe() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("sealed exe: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("ctr-lite", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err == unix.EINVAL { // kernels before 6.3 lack MFD_EXEC
		fd, err = unix.MemfdCreate("ctr-lite", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("sealed exe: memfd_create: %w", err)
	}
	if hi, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, highFD); err == nil {
		unix.Close(fd)
		fd = hi
	}
	mem := os.NewFile(uintptr(fd), "ctr-lite-memfd")
	if _, err := io.Copy(mem, src); err != nil {
		mem.Close()
		return nil, fmt.Errorf("sealed exe: copy: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("sealed exe: seal: %w", err)
	}
	return mem, nil
}

// detachedMount makes a new filesystem of type fstype mounted nowhere and
// returns a descriptor of its root.
func detachedMount(fstype string, attrs int) (int, error) {
	fsfd, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("sealed exe: fsopen %s: %w", fstype, err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("sealed exe: create %s: %w", fstype, err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return -1, fmt.Errorf("sealed exe: fsmount %s: %w", fstype, err)
	}
	return mfd, nil
}
