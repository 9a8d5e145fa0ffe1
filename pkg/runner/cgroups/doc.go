// Package cgroups gives each container one cgroup with its limits, over
// containerd/cgroups v3. On a unified (v2) host the cgroup lives in the one
// hierarchy; on legacy and hybrid hosts (v1 controllers, and perhaps a
// cgroup2 mount with few controllers) limits go through the v1 controllers.
// It reports whether the kernel OOM-killed a process of the cgroup, and
// removes the cgroup afterwards.
package cgroups
