// Package spec turns an image config plus the user's run flags into an OCI
// runtime-spec with docker-like defaults: mount, pid, uts, ipc and cgroup
// namespaces (plus network for any --network but host: none, bridge or a
// CNI network's name, whose namespace the caller makes), docker's default
// capability set, runc's default masked and read-only paths, a /dev tmpfs,
// no_new_privs and the default seccomp profile of pkg/runner/seccomp.
//
// User names are resolved by reading the container's own /etc/passwd and
// /etc/group as files, opened inside the rootfs by package confine so a
// symlinked passwd file cannot point at the host's.
//
// Values the spec has no field for travel as annotations:
// AnnotationCgroupParent (the --cgroup-parent flag; the runner puts the
// container's cgroup at <parent>/<id>), AnnotationUser and
// AnnotationGroupAdd (resolved inside the container), AnnotationInit
// (--init: the runner's init reaper is PID 1), and the network
// files' data (network.go): --dns, --add-host, and the container's IP and
// name once its network is attached.
package spec
