// Package cgroups gives each container one cgroup with its limits, written
// straight to cgroupfs (no cgroup library). On a unified (v2) host the
// cgroup lives in the one hierarchy, its controllers enabled in the
// parents' cgroup.subtree_control, and the device rules are a small eBPF
// program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to it. On legacy and
// hybrid hosts the cgroup is made in every v1 hierarchy (as containerd
// does), limits go to the v1 controllers' files and the device rules to
// devices.allow/devices.deny. It reports whether the kernel OOM-killed a
// process of the cgroup, and removes the cgroup afterwards. Open finds a
// running container's cgroup again, to add an exec'd process to it.
//
// On v1, Enter moves the calling (locked) thread itself into the cgroup
// (New's, or Open's for exec when the container has no pids limit), so
// that the process it forks is born there: moving a running process
// through cgroup.procs waits for an RCU grace period (some 10 ms), moving
// one's own thread through tasks does not.
//
// Without privilege, Delegated finds the subtree systemd delegates to the
// user on a v2 host (user@UID.service); controllers already enabled in a
// parent are not written again (above a delegated subtree they are not the
// user's to write). None is no cgroup at all.
package cgroups
