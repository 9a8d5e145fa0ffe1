// Package launch runs containers: pkg/pipeline makes sure the image is
// stored and its snapshots built, then launch records the container,
// stacks the snapshots under a writable overlay (or copies the rootfs where
// overlayfs cannot be mounted) and hands the process to the built-in runner
// or to runc/crun. On a CNI network (--network bridge or a conflist's
// name) it attaches the container's network namespace through package
// network before the process starts (network.go) and detaches it once the
// process has ended (in finish). It also writes standalone OCI bundles.
//
// A run has three steps, shared by every way of running: create (image,
// snapshots, record, launch.json with the options), start (spec, rootfs,
// the process, until it exits) and finish (exit status in the record,
// teardown, --rm). Run does the three in the foreground. RunDetached
// (`run -d`) does create, then starts a monitor: this binary re-executed
// (`ctr-lite monitor-internal ID`, see MonitorCmd) in a session of its own
// with its stdio detached, which takes the container's use lock, does
// start and finish, and tells its parent through a pipe (fd 3) once the
// process runs or why it could not. Start (`start`) starts a new monitor
// for an exited container: it reloads launch.json and the image, whose
// snapshots must be the ones the container's kept upper layer sits on.
//
// The monitor writes the container's stdout and stderr to its log
// (package crilog, <container dir>/ctr.log). With a terminal, the pty's
// output goes to the log and to the clients of attach.sock, a unix socket
// in the container's directory, whose input goes to the pty; Attach is
// the client (detach keys ctrl-p ctrl-q). The monitor's pid is in the
// record: a killed monitor makes the container exited (ExitUnknown) and
// `rm -f` cleans up after it (package container).
//
// Exec runs a command in a running container: the record's init pid,
// checked against its start time, handed to runner.Exec.
//
// A run without privilege (a rootless root, or one used from a user
// namespace) gets: overlayfs with userxattr; a cgroup under the subtree
// systemd delegates on cgroup v2, else none (a limit flag is then an error,
// and the run says once that it has no cgroup); no --device; and, by
// default, a user-mode network (package usernet).
package launch
