package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// op is a comparison of a 64-bit syscall argument with a value.
type op int

const (
	opEqual op = iota
	opNotEqual
	opGreater
	opGreaterEqual
	opLess
	opLessEqual
	opBitsSet    // some bit of the value is set
	opBitsNotSet // no bit of the value is set (SCMP_CMP_MASKED_EQ with 0)
)

type cond struct {
	arg uint32
	op  op
	val uint64
}

// rule: a syscall and, when alts is not nil, alternatives (ORed) of
// conditions (ANDed) its arguments must meet; then action.
type rule struct {
	nr     uint32
	alts   [][]cond
	action uint32
}

// Compile turns a runtime-spec seccomp section into a BPF program for the
// native architecture. Rules are checked in order, first match wins;
// syscall names this architecture lacks are skipped, as libseccomp does.
// A call from another architecture gets the default action, and on x86_64
// an x32 call gets ENOSYS. Supported actions: allow, errno, kill,
// kill_process, trap, log.
func Compile(s *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	a, err := nativeArch()
	if err != nil {
		return nil, err
	}
	def, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	var rules []rule
	for _, sc := range s.Syscalls {
		act, err := action(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, err
		}
		conds, err := conditions(sc.Args)
		if err != nil {
			return nil, err
		}
		for _, n := range sc.Names {
			nr, ok := a.number(n)
			if !ok {
				continue
			}
			r := rule{nr: nr, action: act}
			if conds != nil {
				r.alts = lowWords(n, conds)
			}
			// Consecutive conditional rules for one syscall and action
			// (personality's five personas) are one rule.
			if k := len(rules) - 1; k >= 0 && r.alts != nil && rules[k].alts != nil && rules[k].nr == nr && rules[k].action == act {
				rules[k].alts = append(rules[k].alts, r.alts...)
				continue
			}
			rules = append(rules, r)
		}
	}
	return build(a, def, rules).assemble()
}

// chunk bounds a run of syscall numbers that share one return, so each
// comparison reaches it with a short jump.
const chunk = 200

func build(a archInfo, def uint32, rules []rule) *program {
	p := &program{}
	deflt := p.label()
	p.load(offArch)
	p.jump(unix.BPF_JEQ, a.audit, next, deflt)
	p.load(offNr)
	if a.x32 {
		// An x32 call would bypass a list of x86_64 numbers: refuse
		// them all.
		nosys := p.label()
		p.jump(unix.BPF_JGE, x32Bit, next, nosys)
		p.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
		p.mark(nosys)
	}
	for i := 0; i < len(rules); {
		r := rules[i]
		if r.alts != nil {
			conditional(p, r)
			i++
			continue
		}
		// A run of unconditional rules with one action: compare the
		// number with each, then one return.
		j := i + 1
		for j < len(rules) && j-i < chunk && rules[j].alts == nil && rules[j].action == r.action {
			j++
		}
		match, miss := p.label(), p.label()
		for k := i; k < j-1; k++ {
			p.jump(unix.BPF_JEQ, rules[k].nr, match, next)
		}
		p.jump(unix.BPF_JEQ, rules[j-1].nr, match, miss)
		p.mark(match)
		p.ret(r.action)
		p.mark(miss)
		i = j
	}
	p.mark(deflt)
	p.ret(def)
	return p
}

// conditional checks one syscall's argument alternatives. The checks load
// arguments into A, so a miss loads the syscall number again.
func conditional(p *program, r rule) {
	miss := p.label()
	p.jump(unix.BPF_JEQ, r.nr, next, miss)
	for i, alt := range r.alts {
		fail := miss
		if i < len(r.alts)-1 {
			fail = p.label()
		}
		for _, c := range alt {
			check(p, c, fail)
		}
		p.ret(r.action)
		if fail != miss {
			p.mark(fail)
		}
	}
	p.mark(miss)
	p.load(offNr)
}

// check goes on when argument c.arg meets c, and to fail when not. The
// high words are compared first, then the low ones.
func check(p *program, c cond, fail label) {
	hi, lo := uint32(c.val>>32), uint32(c.val)
	pass := p.label()
	p.loadHi(c.arg)
	switch c.op {
	case opEqual:
		p.jump(unix.BPF_JEQ, hi, next, fail)
		p.loadLo(c.arg)
		p.jump(unix.BPF_JEQ, lo, pass, fail)
	case opNotEqual:
		p.jump(unix.BPF_JEQ, hi, next, pass)
		p.loadLo(c.arg)
		p.jump(unix.BPF_JEQ, lo, fail, pass)
	case opGreater, opGreaterEqual:
		p.jump(unix.BPF_JGT, hi, pass, next)
		p.jump(unix.BPF_JEQ, hi, next, fail)
		p.loadLo(c.arg)
		cmp := uint16(unix.BPF_JGT)
		if c.op == opGreaterEqual {
			cmp = unix.BPF_JGE
		}
		p.jump(cmp, lo, pass, fail)
	case opLess, opLessEqual:
		p.jump(unix.BPF_JGE, hi, next, pass)
		p.jump(unix.BPF_JEQ, hi, next, fail)
		p.loadLo(c.arg)
		cmp := uint16(unix.BPF_JGE) // lo < v: not lo >= v
		if c.op == opLessEqual {
			cmp = unix.BPF_JGT
		}
		p.jump(cmp, lo, fail, pass)
	case opBitsSet:
		p.jump(unix.BPF_JSET, hi, pass, next)
		p.loadLo(c.arg)
		p.jump(unix.BPF_JSET, lo, pass, fail)
	case opBitsNotSet:
		p.jump(unix.BPF_JSET, hi, fail, next)
		p.loadLo(c.arg)
		p.jump(unix.BPF_JSET, lo, fail, pass)
	}
	p.mark(pass)
}

func action(a specs.LinuxSeccompAction, errno *uint) (uint32, error) {
	switch a {
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActErrno:
		e := uint32(unix.EPERM)
		if errno != nil && *errno&0xffff != 0 {
			// An errno of 0 would make the call look successful: it
			// stays EPERM.
			e = uint32(*errno & 0xffff)
		}
		return unix.SECCOMP_RET_ERRNO | e, nil
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	}
	return 0, fmt.Errorf("%w seccomp rule: action %s", errdefs.ErrUnsupported, a)
}

func conditions(args []specs.LinuxSeccompArg) ([]cond, error) {
	if len(args) == 0 {
		return nil, nil
	}
	var out []cond
	for _, a := range args {
		if a.Index > 5 {
			return nil, fmt.Errorf("%w seccomp rule: argument %d (a syscall has 6)", errdefs.ErrUnsupported, a.Index)
		}
		c := cond{arg: uint32(a.Index), val: a.Value}
		switch a.Op {
		case specs.OpEqualTo:
			c.op = opEqual
		case specs.OpNotEqual:
			c.op = opNotEqual
		case specs.OpGreaterThan:
			c.op = opGreater
		case specs.OpGreaterEqual:
			c.op = opGreaterEqual
		case specs.OpLessThan:
			c.op = opLess
		case specs.OpLessEqual:
			c.op = opLessEqual
		case specs.OpMaskedEqual:
			if a.ValueTwo != 0 {
				return nil, fmt.Errorf("%w seccomp rule: SCMP_CMP_MASKED_EQ with non-zero value", errdefs.ErrUnsupported)
			}
			c.op = opBitsNotSet
		default:
			return nil, fmt.Errorf("%w seccomp rule: operator %s", errdefs.ErrUnsupported, a.Op)
		}
		out = append(out, c)
	}
	return out, nil
}
