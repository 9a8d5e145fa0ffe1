// Package runner runs one container process from an OCI runtime-spec with
// our own code: no runc at run time, no cgo, a static binary.
//
// Run re-executes the current binary (from a sealed memfd copy of
// /proc/self/exe, made once per process, so the container can never
// reach or overwrite ctr-lite's binary: runc CVE-2019-5736) into new
// mount, PID, UTS, IPC (and, for --network none, network) namespaces and,
// as a rule, straight into its cgroup (see protocol.go); the
// child joins a network namespace the spec gives by path (one package
// network made and attached; the only type that can be joined), unshares
// a cgroup namespace, builds the root
// filesystem (RootMounts such as an overlay, spec mounts resolved inside
// the rootfs by package confine (openat2 RESOLVE_IN_ROOT, or a walk with
// the same rules on kernels without it) and mounted through
// /proc/self/fd, /dev, masked and read-only paths; read-only is recursive,
// see readonly.go), pivot_roots into it,
// drops to the spec's user and capabilities, sets no_new_privs, installs
// the seccomp filter and execs the command, which is PID 1 of its
// namespace. Every binary that calls Run must call Init first thing in
// main (and in TestMain).
//
// The parent/child protocol is described in protocol.go. Exit statuses
// follow docker: the process's own, 128+N for signal N, and *errdefs.ExitError
// with 125 (ctr-lite failed), 126 (cannot execute), 127 (not found) or 137
// with ErrOOMKilled.
//
// Run saves the spec its init got (SpecFile, spec.json in StateDir). Exec
// (join.go and setns.go; `ctr-lite exec`) runs another command in the running
// container from it, confined exactly as the init: the same protocol, but
// the child is forked from a thread that joined the init's pid, uts, ipc,
// net and cgroup namespaces (and, as a rule, its cgroup), enters its mount
// namespace itself, is in the container's cgroup, and skips the root filesystem setup; its
// user, rlimits, capabilities, no_new_privs, seccomp filter and AppArmor
// profile come from the saved spec by the same code as the init's.
// Containers in a user namespace are refused (errdefs.ErrUnsupported).
//
// Beyond Run, Exec and Init: Config.Started (callback with the container
// pid, for records), WriteBundle (OCI bundle for runc/crun), RunRuntime
// (`run --runtime runc|crun`), EtcFiles (hosts, hostname, resolv.conf: from the
// spec's hostname and the network annotations of package spec: --dns,
// --add-host, the container's IP and name) and CgroupPath. When the rootfs is only
// an overlay mounted inside the container (Build with rootfs ""), the user
// is resolved in the child against the merged /etc/passwd and /etc/group.
// With a terminal (-t), when the caller's terminal hangs up (SIGHUP to
// the caller, or EOF/EIO on a terminal stdin), the runner closes the
// container's pty master: its session gets SIGHUP and its reads end, so a
// shell that is PID 1 (which ignores a plain SIGHUP) exits too.
//
// Config.NoCgroup runs without a cgroup (rootless where none can be made),
// and Config.Network attaches a user-mode network to the container's
// network namespace before its process starts.
//
// In a user namespace (a rootless run, see package userns) the same code
// runs as that namespace's root; where the kernel refuses what needs
// privilege on the host, the child falls back as runc does rootless: the
// standard /dev nodes are bind mounts of the host's, /sys is a bind of the
// host's when sysfs cannot be mounted (the host's network), devpts goes
// without gid=5 when that gid is not mapped, a bind remount keeps the
// flags the host locked, and setgroups is skipped where it is denied.
//
// With --init (the spec's AnnotationInit, Run only, never Exec), the
// child, once fully confined, execs the binary it runs from (the sealed
// copy, through /proc/self/exe, close-on-exec) instead of the command:
// Init recognises that "init reaper" first thing (an environment marker,
// reaper.go) and, as PID 1 started as one thread with the container's
// credentials and filter (so are all its threads), forks and execs the command (its own process
// group, the terminal's foreground one with -t), forwards every catchable
// signal to it, reaps every zombie and exits with its status. The reaper
// needs a static binary (the busybox-like rootfs has no ELF interpreter).
//
// CTRLITE_RUNNER_TRACE=1 prints the duration of each start-up phase, parent
// and child, to stderr.
//
// A `ctr-lite run` is then: img config + flags -> spec.Build(cfg, "", opts);
// container.Store.Create; PrepareOverlay(id, snapshot dirs) -> Root.Path and
// RootMounts; Run with StateDir = Store.Dir(id) and Started = SetRunning;
// SetExited; Remove when --rm. Exit with the returned status, or with
// errdefs.ExitError.Code after printing the error.
package runner
