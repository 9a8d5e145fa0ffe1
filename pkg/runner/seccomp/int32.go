package seccomp

import (
	"math/bits"

	bpfseccomp "github.com/elastic/go-seccomp-bpf"
)

// int32Args lists the syscall arguments the kernel declares as 32-bit (int
// or unsigned int) and the profile compares: the kernel ignores their upper
// 32 bits, so a 64-bit comparison would let `AF_VSOCK | 1<<32` through a
// "not AF_VSOCK" rule.
var int32Args = map[string][]uint32{
	"socket":      {0}, // int family
	"personality": {0}, // unsigned int persona
}

const low32 = 0xffffffff

// lowWords rewrites the equal and not-equal conditions on name's 32-bit
// arguments so they look at the low word only, using the library's bit
// tests (which treat each word separately) instead of its 64-bit compares.
// The result is a list of alternatives (ORed), each a list of conditions
// (ANDed), as the library takes them.
func lowWords(name string, conds bpfseccomp.ArgumentConditions) []bpfseccomp.ArgumentConditions {
	alts := []bpfseccomp.ArgumentConditions{nil}
	for _, c := range conds {
		var choices []bpfseccomp.ArgumentConditions
		switch {
		case !is32(name, c.Argument) || c.Value > low32:
			choices = []bpfseccomp.ArgumentConditions{{c}}
		case c.Operation == bpfseccomp.Equal:
			choices = []bpfseccomp.ArgumentConditions{equal32(c.Argument, uint32(c.Value))}
		case c.Operation == bpfseccomp.NotEqual:
			for _, e := range equal32(c.Argument, uint32(c.Value)) {
				choices = append(choices, bpfseccomp.ArgumentConditions{negate(e)})
			}
		default:
			choices = []bpfseccomp.ArgumentConditions{{c}}
		}
		var next []bpfseccomp.ArgumentConditions
		for _, a := range alts {
			for _, ch := range choices {
				next = append(next, append(append(bpfseccomp.ArgumentConditions{}, a...), ch...))
			}
		}
		alts = next
	}
	return alts
}

func is32(name string, arg uint32) bool {
	for _, a := range int32Args[name] {
		if a == arg {
			return true
		}
	}
	return false
}

// equal32 is "low word == v" as a conjunction of bit tests: none of the
// bits v lacks is set, and each bit of v is set. The tests use a mask whose
// high word is zero, so the argument's high word never matters.
func equal32(arg, v uint32) bpfseccomp.ArgumentConditions {
	var out bpfseccomp.ArgumentConditions
	if clear := ^v; clear != 0 {
		out = append(out, bpfseccomp.Condition{Argument: arg, Operation: bpfseccomp.BitsNotSet, Value: uint64(clear)})
	}
	for rest := v; rest != 0; rest &= rest - 1 {
		bit := uint64(1) << bits.TrailingZeros32(rest)
		out = append(out, bpfseccomp.Condition{Argument: arg, Operation: bpfseccomp.BitsSet, Value: bit})
	}
	return out
}

// negate turns one bit test of equal32 into its opposite.
func negate(c bpfseccomp.Condition) bpfseccomp.Condition {
	if c.Operation == bpfseccomp.BitsSet {
		c.Operation = bpfseccomp.BitsNotSet
	} else {
		c.Operation = bpfseccomp.BitsSet
	}
	return c
}
