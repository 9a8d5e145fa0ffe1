// Package seccomp holds ctr-lite's default syscall filter and compiles a
// runtime-spec seccomp section into a classic BPF program in pure Go, so the
// binary needs no libseccomp. The syscall tables (zsysnum.go, by `go
// generate` from golang.org/x/sys/unix) are sorted arrays the linker lays
// out: nothing runs at start-up. A filter checks the native architecture
// only: a call from another one (i386 on x86_64, arm on aarch64) gets the
// default action, an x32 call ENOSYS.
//
// Default returns a profile equivalent in spirit to docker's default: an
// allow list of ~350 syscalls, EPERM for the rest, ENOSYS for clone3 (so libc
// falls back to clone, whose namespace flags are then checked), personality
// limited to the harmless personas, and syscalls that need a capability
// (mount, ptrace, reboot, module loading, clock setting...) allowed only when
// the container is given that capability. Arguments the kernel reads as 32-bit
// (socket's family, personality's persona) are compared on their low word
// only, as the kernel uses them. The same profile is written into
// bundles so runc and crun enforce it too.
package seccomp
