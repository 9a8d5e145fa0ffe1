// Package container keeps ctr-lite's container records: one directory per
// container under <root>/containers/<id>/ holding state.json (id, name,
// image, command, created, status, exit code, pid) next to the runner's
// per-container files (StateDir, overlay upper/work dirs).
//
// There is no daemon: every writer takes the part's "records" lock (see
// package dataroot) for the read-modify-write of a record, and names
// are checked unique under the same lock. A record that says running but
// whose pid is gone (or reused: the process start time is recorded too)
// is reported as exited with ExitUnknown, so `ps -a` never lies after a
// crash. A `run` holds the container's "use-<id>" lock (Store.Use) from
// creation to exit: fsck leaves its mounts alone and rm refuses it without
// force, even before it has a pid. Remove deletes the container's cgroup,
// unmounts what is mounted below its directory (the rootfs `run --runtime`
// mounts on the host), then removes the directory without ever crossing a
// mount point; gc removes the cgroups that exited containers left.
//
// The process that runs a container and records its exit (its monitor:
// the `run -d` monitor, or the foreground `run`) is in the record too. A
// running record whose monitor is gone is reported exited, ExitUnknown,
// MonitorLost (it was killed and nobody will record the exit). Remove
// without force refuses a container whose monitor lives (starting it, or
// finishing it); Remove
// with force kills the container's process and waits for (or kills) its
// monitor before removing the cgroup, mounts and directory. Stop sends the
// image's StopSignal (default SIGTERM), SIGKILL after the timeout, and
// returns once the monitor is done; Wait polls the record until it says
// exited.
//
// AttachNetwork records a container's network namespace before package
// network attaches it to a CNI network; DetachNetwork (the end of a run),
// Remove and gc (for exited containers nobody uses) detach it.
// OpenInit gives a pidfd of a running container's init, checked against
// its recorded start time, for `exec` to enter its namespaces.
package container
