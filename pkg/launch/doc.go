// Package launch puts `run` together: make sure the image is stored, its
// snapshots built, record the container, stack the snapshots under a
// writable overlay (or copy the rootfs where overlayfs cannot be mounted)
// and hand the process to the built-in runner or to runc/crun. It also
// writes standalone OCI bundles.
package launch
