// Package launch runs containers: pkg/pipeline makes sure the image is
// stored and its snapshots built, then launch records the container,
// stacks the snapshots under a writable overlay (or copies the rootfs where
// overlayfs cannot be mounted) and hands the process to the built-in runner
// or to runc/crun. It also writes standalone OCI bundles, and runs
// commands in running containers (Exec: the record's init pid, checked,
// handed to runner.Exec).
package launch
