package seccomp

import (
	"runtime"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestCompileDecisions runs compiled programs in x/net/bpf's VM: first
// match wins, the 64-bit comparisons, the default errno, calls from
// another architecture and x32 calls.
func TestCompileDecisions(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("x86_64 numbers")
	}
	eio := uint(unix.EIO)
	const allow, kill = unix.SECCOMP_RET_ALLOW, unix.SECCOMP_RET_KILL_PROCESS
	errno := func(e unix.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e) }
	arg := func(i uint, op specs.LinuxSeccompOperator, v uint64) []specs.LinuxSeccompArg {
		return []specs.LinuxSeccompArg{{Index: i, Value: v, Op: op}}
	}
	p := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &eio, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"read", "write", "no_such_call"}, Action: specs.ActAllow},
		{Names: []string{"read"}, Action: specs.ActKillProcess}, // never reached
		{Names: []string{"lseek"}, Action: specs.ActAllow, Args: arg(2, specs.OpLessThan, 1<<32|5)},
		{Names: []string{"lseek"}, Action: specs.ActKillProcess, Args: arg(2, specs.OpGreaterEqual, 1<<33)},
		{Names: []string{"mmap"}, Action: specs.ActAllow, Args: arg(5, specs.OpGreaterThan, 0xffffffff)},
		{Names: []string{"close"}, Action: specs.ActAllow, Args: append(arg(0, specs.OpNotEqual, 2), arg(1, specs.OpLessEqual, 7)...)},
		{Names: []string{"dup"}, Action: specs.ActAllow, Args: arg(0, specs.OpMaskedEqual, 0xff00000000)},
	}}
	// Enough names that the architecture check needs a long jump.
	var many []string
	for _, n := range allowed {
		if !slices.Contains([]string{"lseek", "mmap", "close", "dup"}, n) {
			many = append(many, n)
		}
	}
	p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: many, Action: specs.ActLog})
	prog, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 300 {
		t.Fatalf("program of %d instructions, want a long one", len(prog))
	}
	x86 := uint32(unix.AUDIT_ARCH_X86_64)
	tests := []struct {
		name string
		arch uint32
		nr   uint32
		args [6]uint64
		want uint32
	}{
		{"read", x86, unix.SYS_READ, [6]uint64{}, allow},
		{"write", x86, unix.SYS_WRITE, [6]uint64{}, allow},
		{"default errno", x86, unix.SYS_MOUNT, [6]uint64{}, errno(unix.EIO)},
		{"late in a long list", x86, unix.SYS_UNAME, [6]uint64{}, unix.SECCOMP_RET_LOG},
		{"lseek below", x86, unix.SYS_LSEEK, [6]uint64{2: 1<<32 | 4}, allow},
		{"lseek between", x86, unix.SYS_LSEEK, [6]uint64{2: 1<<32 | 5}, errno(unix.EIO)},
		{"lseek at or above", x86, unix.SYS_LSEEK, [6]uint64{2: 1 << 33}, kill},
		{"mmap high", x86, unix.SYS_MMAP, [6]uint64{5: 1 << 32}, allow},
		{"mmap low", x86, unix.SYS_MMAP, [6]uint64{5: 0xffffffff}, errno(unix.EIO)},
		{"close ok", x86, unix.SYS_CLOSE, [6]uint64{3, 7}, allow},
		{"close fd 2", x86, unix.SYS_CLOSE, [6]uint64{2, 7}, errno(unix.EIO)},
		{"close fd 2 high word", x86, unix.SYS_CLOSE, [6]uint64{1<<32 | 2, 7}, allow},
		{"close second arg", x86, unix.SYS_CLOSE, [6]uint64{3, 8}, errno(unix.EIO)},
		{"dup no masked bits", x86, unix.SYS_DUP, [6]uint64{0xff}, allow},
		{"dup masked bit", x86, unix.SYS_DUP, [6]uint64{1 << 36}, errno(unix.EIO)},
		{"i386 call", unix.AUDIT_ARCH_I386, 3, [6]uint64{}, errno(unix.EIO)},
		{"x32 call", x86, x32Bit | unix.SYS_READ, [6]uint64{}, errno(unix.ENOSYS)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := runArch(t, prog, tc.arch, tc.nr, tc.args); got != tc.want {
				t.Errorf("%#x, want %#x", got, tc.want)
			}
		})
	}
}
