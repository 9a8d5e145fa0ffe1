package launch

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// overlayUnavailable tells why overlayfs cannot be mounted for containers
// under root, or "" when it can. The answer of the first probe is kept in
// <root>/overlay-probe, so the cost is paid once per root.
func overlayUnavailable(root string) string {
	cache := filepath.Join(root, "overlay-probe")
	if b, err := os.ReadFile(cache); err == nil {
		return strings.TrimSpace(string(b)) // empty: overlay works
	}
	why := probeOverlay(root)
	os.WriteFile(cache, []byte(why), 0o600)
	return why
}

func probeOverlay(root string) string {
	if os.Geteuid() != 0 {
		return "not root"
	}
	dir, err := os.MkdirTemp(root, "overlay-probe-")
	if err != nil {
		return err.Error()
	}
	defer os.RemoveAll(dir)
	var opts []string
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
