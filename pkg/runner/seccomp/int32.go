package seccomp

import "math/bits"

// int32Args lists the syscall arguments the kernel declares as 32-bit (int
// or unsigned int) and the profile compares: the kernel ignores their upper
// 32 bits, so a 64-bit comparison would let `AF_VSOCK | 1<<32` through a
// "not AF_VSOCK" rule.
func int32Args(name string) []uint32 {
	switch name {
	case "socket":
		return []uint32{0} // int family
	case "personality":
		return []uint32{0} // unsigned int persona
	}
	return nil
}

const low32 = 0xffffffff

// lowWords rewrites the equal and not-equal conditions on name's 32-bit
// arguments so they look at the low word only, using bit tests (which
// treat each word separately) instead of 64-bit compares. The result is a
// list of alternatives (ORed), each a list of conditions (ANDed).
func lowWords(name string, conds []cond) [][]cond {
	alts := [][]cond{nil}
	for _, c := range conds {
		var choices [][]cond
		switch {
		case !is32(name, c.arg) || c.val > low32:
			choices = [][]cond{{c}}
		case c.op == opEqual:
			choices = [][]cond{equal32(c.arg, uint32(c.val))}
		case c.op == opNotEqual:
			for _, e := range equal32(c.arg, uint32(c.val)) {
				choices = append(choices, []cond{negate(e)})
			}
		default:
			choices = [][]cond{{c}}
		}
		var grown [][]cond
		for _, a := range alts {
			for _, ch := range choices {
				grown = append(grown, append(append([]cond{}, a...), ch...))
			}
		}
		alts = grown
	}
	return alts
}

func is32(name string, arg uint32) bool {
	for _, a := range int32Args(name) {
		if a == arg {
			return true
		}
	}
	return false
}

// equal32 is "low word == v" as a conjunction of bit tests: none of the
// bits v lacks is set, and each bit of v is set. The tests use a mask whose
// high word is zero, so the argument's high word never matters.
func equal32(arg, v uint32) []cond {
	var out []cond
	if clear := ^v; clear != 0 {
		out = append(out, cond{arg: arg, op: opBitsNotSet, val: uint64(clear)})
	}
	for rest := v; rest != 0; rest &= rest - 1 {
		bit := uint64(1) << bits.TrailingZeros32(rest)
		out = append(out, cond{arg: arg, op: opBitsSet, val: bit})
	}
	return out
}

// negate turns one bit test of equal32 into its opposite.
func negate(c cond) cond {
	if c.op == opBitsSet {
		c.op = opBitsNotSet
	} else {
		c.op = opBitsSet
	}
	return c
}
