// Package launch runs containers: pkg/pipeline makes sure the image is
// stored and its snapshots built, then launch records the container,
// stacks the snapshots under a writable overlay (or copies the rootfs where
// overlayfs cannot be mounted) and hands the process to the built-in runner
// or to runc/crun. It also writes standalone OCI bundles.
//
// A run without privilege (a rootless root, or one used from a user
// namespace) gets: overlayfs with userxattr; a cgroup under the subtree
// systemd delegates on cgroup v2, else none (a limit flag is then an error,
// and the run says once that it has no cgroup); no --device; and, by
// default, a user-mode network (package usernet).
package launch
