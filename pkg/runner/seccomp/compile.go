package seccomp

import (
	"fmt"

	bpfseccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// Compile turns a runtime-spec seccomp section into a BPF program for the
// native architecture (x86_64). Rules are checked in order, first match
// wins; syscall names this architecture lacks are skipped, as libseccomp
// does. Supported actions: allow, errno, kill, kill_process, trap, log.
func Compile(s *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	def, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	if def&0xffff0000 == bpfseccomp.ActionErrno {
		// The library only validates plain actions as default; it adds
		// EPERM to a bare errno itself.
		if def&0xffff != bpfseccomp.Action(unix.EPERM) {
			return nil, fmt.Errorf("%w seccomp rule: default errno other than EPERM", errdefs.ErrUnsupported)
		}
		def = bpfseccomp.ActionErrno
	}
	policy := bpfseccomp.Policy{DefaultAction: def}
	for _, sc := range s.Syscalls {
		act, err := action(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, err
		}
		conds, err := conditions(sc.Args)
		if err != nil {
			return nil, err
		}
		g := bpfseccomp.SyscallGroup{Action: act}
		seen := map[string]bool{}
		for _, n := range sc.Names {
			if _, ok := info.SyscallNames[n]; !ok || seen[n] {
				continue
			}
			seen[n] = true
			if conds == nil {
				g.Names = append(g.Names, n)
				continue
			}
			// Alternatives of one name are ORed by the library.
			for _, alt := range lowWords(n, conds) {
				g.NamesWithCondtions = append(g.NamesWithCondtions, bpfseccomp.NameWithConditions{Name: n, Conditions: alt})
			}
		}
		if len(g.Names)+len(g.NamesWithCondtions) == 0 {
			continue
		}
		// Merge consecutive rules with the same action and conditional
		// names (personality's five personas) into one group, which the
		// library ORs.
		if n := len(policy.Syscalls); n > 0 && conds != nil && policy.Syscalls[n-1].Action == act && len(policy.Syscalls[n-1].Names) == 0 {
			policy.Syscalls[n-1].NamesWithCondtions = append(policy.Syscalls[n-1].NamesWithCondtions, g.NamesWithCondtions...)
			continue
		}
		policy.Syscalls = append(policy.Syscalls, g)
	}
	if len(policy.Syscalls) == 0 {
		// The library insists on at least one group.
		policy.Syscalls = []bpfseccomp.SyscallGroup{{Names: []string{"exit_group"}, Action: def}}
	}
	insns, err := policy.Assemble()
	if err != nil {
		return nil, fmt.Errorf("seccomp: assemble: %w", err)
	}
	raw, err := bpf.Assemble(insns)
	if err != nil {
		return nil, fmt.Errorf("seccomp: assemble: %w", err)
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

func action(a specs.LinuxSeccompAction, errno *uint) (bpfseccomp.Action, error) {
	switch a {
	case specs.ActAllow:
		return bpfseccomp.ActionAllow, nil
	case specs.ActErrno:
		e := uint(unix.EPERM)
		if errno != nil {
			e = *errno
		}
		return bpfseccomp.ActionErrno | bpfseccomp.Action(e&0xffff), nil
	case specs.ActKill, specs.ActKillThread:
		return bpfseccomp.ActionKillThread, nil
	case specs.ActKillProcess:
		return bpfseccomp.ActionKillProcess, nil
	case specs.ActTrap:
		return bpfseccomp.ActionTrap, nil
	case specs.ActLog:
		return bpfseccomp.ActionLog, nil
	}
	return 0, fmt.Errorf("%w seccomp rule: action %s", errdefs.ErrUnsupported, a)
}

func conditions(args []specs.LinuxSeccompArg) (bpfseccomp.ArgumentConditions, error) {
	if len(args) == 0 {
		return nil, nil
	}
	var out bpfseccomp.ArgumentConditions
	for _, a := range args {
		c := bpfseccomp.Condition{Argument: uint32(a.Index), Value: a.Value}
		switch a.Op {
		case specs.OpEqualTo:
			c.Operation = bpfseccomp.Equal
		case specs.OpNotEqual:
			c.Operation = bpfseccomp.NotEqual
		case specs.OpGreaterThan:
			c.Operation = bpfseccomp.GreaterThan
		case specs.OpGreaterEqual:
			c.Operation = bpfseccomp.GreaterOrEqual
		case specs.OpLessThan:
			c.Operation = bpfseccomp.LessThan
		case specs.OpLessEqual:
			c.Operation = bpfseccomp.LessOrEqual
		case specs.OpMaskedEqual:
			if a.ValueTwo != 0 {
				return nil, fmt.Errorf("%w seccomp rule: SCMP_CMP_MASKED_EQ with non-zero value", errdefs.ErrUnsupported)
			}
			c.Operation = bpfseccomp.BitsNotSet
		default:
			return nil, fmt.Errorf("%w seccomp rule: operator %s", errdefs.ErrUnsupported, a.Op)
		}
		out = append(out, c)
	}
	return out, nil
}
