package runner

import (
	"errors"
	"fmt"
	"path"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/confine"
)

// openInRoot opens p (O_PATH) inside the tree at rootfd: absolute symlinks
// and ".." stay inside (runc CVE-2021-30465 class), magic links are
// refused. p is cleaned first.
func openInRoot(rootfd int, p string) (int, error) {
	return confine.Open(rootfd, path.Clean("/"+p), unix.O_PATH)
}

func existsOK(err error) error {
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

func fdPath(fd int) string { return fmt.Sprintf("/proc/self/fd/%d", fd) }
