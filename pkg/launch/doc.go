// Package launch runs containers: pkg/pipeline makes sure the image is
// stored and its snapshots built, then launch records the container,
// stacks the snapshots under a writable overlay (or copies the rootfs where
// overlayfs cannot be mounted) and hands the process to the built-in runner
// or to runc/crun. On a CNI network (--network bridge or a conflist's
// name) it attaches the container's network namespace through package
// network before the process starts (network.go) and detaches it once the
// process has ended. It also writes standalone OCI bundles.
package launch
