package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// A small classic-BPF assembler: conditional jumps go to labels, and
// assemble turns labels into offsets. A conditional jump reaches at most
// 255 instructions ahead; one that must go further becomes a conditional
// jump over two unconditional ones (BPF_JA takes a 32-bit offset).

// label names an instruction of a program under construction; next is the
// instruction after the jump.
type label int

const next label = -1

type insn struct {
	code   uint16
	k      uint32
	jt, jf label // conditional jumps
}

type program struct {
	insns []insn
	at    []int // label -> index of the instruction it marks
}

// Offsets in struct seccomp_data. The arguments are 64-bit words read as
// two 32-bit halves; every architecture here is little-endian.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

func (p *program) label() label {
	p.at = append(p.at, -1)
	return label(len(p.at) - 1)
}

// mark makes l name the next instruction emitted.
func (p *program) mark(l label) { p.at[l] = len(p.insns) }

func (p *program) load(off uint32) {
	p.insns = append(p.insns, insn{code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, k: off})
}

func (p *program) loadLo(arg uint32) { p.load(offArgs + 8*arg) }
func (p *program) loadHi(arg uint32) { p.load(offArgs + 8*arg + 4) }

// jump compares A with k (op is BPF_JEQ, BPF_JGT, BPF_JGE or BPF_JSET)
// and goes to jt if true, jf if not.
func (p *program) jump(op uint16, k uint32, jt, jf label) {
	p.insns = append(p.insns, insn{code: unix.BPF_JMP | op | unix.BPF_K, k: k, jt: jt, jf: jf})
}

func (p *program) ret(v uint32) {
	p.insns = append(p.insns, insn{code: unix.BPF_RET | unix.BPF_K, k: v})
}

func isCond(code uint16) bool {
	return code&0x07 == unix.BPF_JMP && code&0xf0 != unix.BPF_JA
}

// assemble resolves the labels. Jumps only go forward.
func (p *program) assemble() ([]unix.SockFilter, error) {
	long := make([]bool, len(p.insns))
	pos := make([]int, len(p.insns)+1)
	target := func(i int, l label) int {
		if l == next {
			return i + 1
		}
		return p.at[l]
	}
	for {
		n := 0
		for i := range p.insns {
			pos[i] = n
			n++
			if long[i] {
				n += 2
			}
		}
		pos[len(p.insns)] = n
		grew := false
		for i, in := range p.insns {
			if !isCond(in.code) || long[i] {
				continue
			}
			for _, l := range []label{in.jt, in.jf} {
				if pos[target(i, l)]-pos[i]-1 > 255 {
					long[i], grew = true, true
				}
			}
		}
		if !grew {
			break
		}
	}
	if pos[len(p.insns)] > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp: filter of %d instructions, the kernel takes %d", pos[len(p.insns)], unix.BPF_MAXINSNS)
	}
	out := make([]unix.SockFilter, 0, pos[len(p.insns)])
	// off is the distance from the instruction after at to label l's.
	off := func(i, at int, l label) (int, error) {
		t := target(i, l)
		if t < 0 || t > len(p.insns) {
			return 0, fmt.Errorf("seccomp: jump to an unmarked label")
		}
		d := pos[t] - at - 1
		if d < 0 {
			return 0, fmt.Errorf("seccomp: backward jump")
		}
		return d, nil
	}
	for i, in := range p.insns {
		f := unix.SockFilter{Code: in.code, K: in.k}
		switch {
		case isCond(in.code) && long[i]:
			t, err := off(i, pos[i]+1, in.jt)
			if err != nil {
				return nil, err
			}
			e, err := off(i, pos[i]+2, in.jf)
			if err != nil {
				return nil, err
			}
			f.Jt, f.Jf = 0, 1
			out = append(out, f,
				unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA, K: uint32(t)},
				unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA, K: uint32(e)})
			continue
		case isCond(in.code):
			t, err := off(i, pos[i], in.jt)
			if err != nil {
				return nil, err
			}
			e, err := off(i, pos[i], in.jf)
			if err != nil {
				return nil, err
			}
			f.Jt, f.Jf = uint8(t), uint8(e)
		}
		out = append(out, f)
	}
	return out, nil
}
