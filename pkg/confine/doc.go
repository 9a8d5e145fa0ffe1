// Package confine resolves paths inside a directory tree as if its top
// were "/": absolute symlinks restart from the top, ".." never climbs above
// it, magic links (/proc/self/fd/N) are refused. It is the one
// implementation behind unpacking layers (unpack) and placing mounts in a
// container's rootfs (runner, runc CVE-2021-30465 class).
//
// The kernel does the work where it can: openat2 with
// RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS. Where openat2 is missing (ENOSYS,
// before Linux 5.6) a component-by-component walk with O_NOFOLLOW on every
// step gives the same result; Walk runs it alone, for tests. On top of
// that, MkdirAll makes a path's missing directories inside the tree, also
// following dangling symlinks inside it.
//
// Functions take and return raw file descriptors and return the system
// call's errno unwrapped (as unix.Openat2 does), so callers can test for
// ENOENT or ELOOP and wrap the error with what they were doing.
package confine
