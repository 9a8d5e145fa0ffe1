package seccomp

import (
	"errors"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

func TestDefaultCompiles(t *testing.T) {
	for _, caps := range [][]string{nil, {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}} {
		prog, err := Compile(Default(caps))
		if err != nil {
			t.Fatalf("caps %v: %v", caps, err)
		}
		if len(prog) < 300 || len(prog) > 65535 {
			t.Errorf("caps %v: program of %d instructions", caps, len(prog))
		}
	}
}

func TestDefaultDependsOnCaps(t *testing.T) {
	allows := func(p *specs.LinuxSeccomp, name string) bool {
		for _, s := range p.Syscalls {
			if s.Action == specs.ActAllow && slices.Contains(s.Names, name) && len(s.Args) == 0 {
				return true
			}
		}
		return false
	}
	tests := []struct {
		caps    []string
		syscall string
		allowed bool
	}{
		{nil, "mount", false},
		{[]string{"CAP_SYS_ADMIN"}, "mount", true},
		{nil, "ptrace", false},
		{[]string{"CAP_SYS_PTRACE"}, "ptrace", true},
		{nil, "reboot", false},
		{nil, "read", true},
		{nil, "clone", false}, // only with the namespace-flags condition
		{[]string{"CAP_SYS_ADMIN"}, "clone", true},
	}
	for _, tc := range tests {
		if got := allows(Default(tc.caps), tc.syscall); got != tc.allowed {
			t.Errorf("caps %v: %s allowed=%v, want %v", tc.caps, tc.syscall, got, tc.allowed)
		}
	}
}

func TestCompileRejectsUnsupported(t *testing.T) {
	tests := []struct {
		name string
		p    *specs.LinuxSeccomp
	}{
		{"notify action", &specs.LinuxSeccomp{DefaultAction: specs.ActNotify}},
		{"argument index 6", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{
			Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 6, Value: 1, Op: specs.OpEqualTo}}}}}},
		{"masked eq with value", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{
			Names: []string{"clone"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, ValueTwo: 1, Op: specs.OpMaskedEqual}}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Compile(tc.p); !errors.Is(err, errdefs.ErrUnsupported) {
				t.Errorf("err %v, want errdefs.ErrUnsupported", err)
			}
		})
	}
}
