package seccomp

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// run evaluates prog on a seccomp_data for an x86_64 syscall. The VM loads
// words big-endian where the kernel loads them native: each 32-bit word is
// written big-endian at the offset the program reads it from.
func run(t *testing.T, prog []unix.SockFilter, nr uint32, arg0 uint64) uint32 {
	t.Helper()
	return runArch(t, prog, unix.AUDIT_ARCH_X86_64, nr, [6]uint64{arg0})
}

// runArch is run for any arch and all six arguments.
func runArch(t *testing.T, prog []unix.SockFilter, arch, nr uint32, args [6]uint64) uint32 {
	t.Helper()
	raw := make([]bpf.RawInstruction, len(prog))
	for i, f := range prog {
		raw[i] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
	}
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("disassemble: unknown instruction")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 64)
	binary.BigEndian.PutUint32(data[0:], nr)
	binary.BigEndian.PutUint32(data[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(data[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(data[20+8*i:], uint32(a>>32))
	}
	out, err := vm.Run(data)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(out)
}

func TestInt32ArgsCompareLowWord(t *testing.T) {
	prog, err := Compile(Default(nil))
	if err != nil {
		t.Fatal(err)
	}
	const allow = unix.SECCOMP_RET_ALLOW
	tests := []struct {
		name    string
		nr      uint32
		arg0    uint64
		allowed bool
	}{
		{"socket AF_INET", unix.SYS_SOCKET, unix.AF_INET, true},
		{"socket AF_INET high bit", unix.SYS_SOCKET, unix.AF_INET | 1<<32, true},
		{"socket AF_VSOCK", unix.SYS_SOCKET, unix.AF_VSOCK, false},
		{"socket AF_VSOCK high bit", unix.SYS_SOCKET, unix.AF_VSOCK | 1<<32, false},
		{"socket AF_VSOCK high word", unix.SYS_SOCKET, unix.AF_VSOCK | 0xffffffff<<32, false},
		{"socket AF_VSOCK plus a bit", unix.SYS_SOCKET, unix.AF_VSOCK | 1, true},
		{"personality linux", unix.SYS_PERSONALITY, 0, true},
		{"personality query", unix.SYS_PERSONALITY, 0xffffffff, true},
		{"personality query high bit", unix.SYS_PERSONALITY, 0xffffffff | 1<<40, true},
		{"personality other", unix.SYS_PERSONALITY, 0x0400000, false},
		{"personality other high bit", unix.SYS_PERSONALITY, 0x0400000 | 1<<32, false},
		// After a failed argument check the program compares the syscall
		// number again, not the argument left in A (41 is socket's number,
		// 56 clone's).
		{"personality socket's number", unix.SYS_PERSONALITY, unix.SYS_SOCKET, false},
		{"personality clone's number", unix.SYS_PERSONALITY, unix.SYS_CLONE, false},
	}
	for _, tc := range tests {
		got := run(t, prog, tc.nr, tc.arg0) == allow
		if got != tc.allowed {
			t.Errorf("%s (%#x): allowed=%v, want %v", tc.name, tc.arg0, got, tc.allowed)
		}
	}
}
