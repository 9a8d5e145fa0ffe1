package seccomp

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

//go:generate go run ./internal/mksysnum

// sysnum is one entry of a syscall table (zsysnum.go).
type sysnum struct {
	name string
	nr   uint32
}

// x32Bit marks a syscall number as the x32 ABI's (__X32_SYSCALL_BIT): x32
// calls arrive as AUDIT_ARCH_X86_64 with this bit set.
const x32Bit = 0x40000000

// archInfo is what a filter needs to know about an architecture.
type archInfo struct {
	name  specs.Arch
	audit uint32   // AUDIT_ARCH_ value in seccomp_data.arch
	table []sysnum // sorted by name
	x32   bool     // x86_64: the x32 ABI shares its audit arch
}

// archOf returns the architecture goarch (runtime.GOARCH) runs syscalls as.
// (A switch, not a map: a package-level map is built at every start-up.)
func archOf(goarch string) (archInfo, error) {
	switch goarch {
	case "amd64":
		return archInfo{specs.ArchX86_64, unix.AUDIT_ARCH_X86_64, sysnumAMD64[:], true}, nil
	case "386":
		return archInfo{specs.ArchX86, unix.AUDIT_ARCH_I386, sysnum386[:], false}, nil
	case "arm64":
		return archInfo{specs.ArchAARCH64, unix.AUDIT_ARCH_AARCH64, sysnumARM64[:], false}, nil
	case "arm":
		return archInfo{specs.ArchARM, unix.AUDIT_ARCH_ARM, sysnumARM[:], false}, nil
	}
	return archInfo{}, fmt.Errorf("seccomp: unsupported arch: %s", goarch)
}

func nativeArch() (archInfo, error) { return archOf(runtime.GOARCH) }

// number is name's syscall number on a, if a has that syscall.
func (a archInfo) number(name string) (uint32, bool) {
	i, ok := slices.BinarySearchFunc(a.table, name, func(e sysnum, n string) int { return strings.Compare(e.name, n) })
	if !ok {
		return 0, false
	}
	return a.table[i].nr, true
}
