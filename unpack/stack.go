package unpack

import "golang.org/x/sys/unix"

// opaqueAttrs are the overlay opaque markers Overlay mode writes (trusted.
// as root, user. rootless).
var opaqueAttrs = []string{"trusted.overlay.opaque", "user.overlay.opaque"}

// IsOpaque reports whether the directory fd carries an overlay opaque
// marker.
func IsOpaque(fd int) bool {
	buf := make([]byte, 4)
	for _, attr := range opaqueAttrs {
		if n, err := unix.Fgetxattr(fd, attr, buf); err == nil && string(buf[:n]) == "y" {
			return true
		}
	}
	return false
}

// opaque reports whether the root r is an opaque layer root.
func (r *root) opaque() bool {
	fd, err := unix.Openat(r.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return IsOpaque(fd)
}

// VisibleLayers returns the Overlay-mode layer directories (bottom first)
// that make up the image: a layer whose root is opaque (a ".wh..wh..opq"
// at the layer root) hides everything the layers below it put there, as
// in a Flat unpack, but overlayfs ignores the marker on a layer's root, so
// the layers below are left out of the stack instead.
func VisibleLayers(dirs []string) []string {
	for i := len(dirs) - 1; i > 0; i-- {
		fd, err := unix.Open(dirs[i], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		opaque := IsOpaque(fd)
		unix.Close(fd)
		if opaque {
			return dirs[i:]
		}
	}
	return dirs
}
