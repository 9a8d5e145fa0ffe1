package launch

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"golang.org/x/sys/unix"
)

// overlayUnavailable tells why overlayfs cannot be mounted for containers
// under root, or "" when it can. The answer of the first probe is kept in
// the root's dataroot.OverlayProbe file, so the cost is paid once per root.
func overlayUnavailable(root *dataroot.Root) string {
	name := dataroot.OverlayProbe
	if root.UserNS() {
		name += "-userns" // a plain rootless answer does not hold in a user namespace
	}
	cache := root.Dir(name)
	if b, err := os.ReadFile(cache); err == nil {
		return strings.TrimSpace(string(b)) // empty: overlay works
	}
	why := probeOverlay(root)
	os.WriteFile(cache, []byte(why), 0o600)
	return why
}

func probeOverlay(root *dataroot.Root) string {
	if root.Rootless() {
		return "not root"
	}
	dir, err := os.MkdirTemp(root.Path(), dataroot.OverlayProbe+"-")
	if err != nil {
		return err.Error()
	}
	defer os.RemoveAll(dir)
	var opts []string
	if root.UserNS() {
		opts = append(opts, "userxattr")
	}
	for _, d := range []string{"lower", "upper", "work", "mnt"} {
		p := filepath.Join(dir, d)
		if err := os.Mkdir(p, 0o700); err != nil {
			return err.Error()
		}
		if d != "mnt" {
			opts = append(opts, d+"dir="+p)
		}
	}
	mnt := filepath.Join(dir, "mnt")
	if err := unix.Mount("overlay", mnt, "overlay", 0, strings.Join(opts, ",")); err != nil {
		return "mount overlay: " + err.Error()
	}
	unix.Unmount(mnt, unix.MNT_DETACH)
	return ""
}
