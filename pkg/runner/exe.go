package runner

import (
	"fmt"
	"io"
	"os"
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
func sealedExe() (*os.File, error) {
	exeOnce.Do(func() { exeFile, exeErr = makeSealedExe() })
	return exeFile, exeErr
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
