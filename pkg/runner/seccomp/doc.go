// Package seccomp holds ctr-lite's default syscall filter and compiles a
// runtime-spec seccomp section into a classic BPF program in pure Go
// (github.com/elastic/go-seccomp-bpf), so the binary needs no libseccomp.
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
