package reference

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The docker grammar's regexps, which the hand-written checks replace.
var grammar = []struct {
	name  string
	re    *regexp.Regexp
	check func(string) bool
	cases []string
}{
	{"component", regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`), validComponent,
		[]string{"", "a", "alpine", "a.b", "a..b", "a_b", "a__b", "a___b", "a-b", "a---b", "a-.b", "a._b", "-a", "a-", ".a", "a.", "_a", "A", "aB", "a b", "é"}},
	{"tag", regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`), validTag,
		[]string{"", "latest", "_x", ".x", "-x", "v1.2-rc_3", "a:b", strings.Repeat("a", 128), strings.Repeat("a", 129)}},
	{"host", regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`), validHost,
		[]string{"", "localhost", "localhost:5000", "a.b.c", "a..b", ".a", "a.", "-a.b", "a-.b", "a-b.c-d", "x:", "x:123456", "x:12345", "x:1a",
			"[::1]", "[::1]:5000", "[]", "[::1", "[g::1]", "[::1]x", "[::1]:", "a:1:2", "a_b", "[1.2.3.4]:80"}},
}

// TestGrammarMatchesRegexps checks each hand-written check against its
// regexp on fixed cases and on random strings over the characters that
// matter to the grammar.
func TestGrammarMatchesRegexps(t *testing.T) {
	const alphabet = "aZ09._-:[]/x "
	rng := rand.New(rand.NewPCG(17, 1))
	for _, g := range grammar {
		t.Run(g.name, func(t *testing.T) {
			inputs := append([]string(nil), g.cases...)
			for range 200000 {
				b := make([]byte, rng.IntN(10))
				for i := range b {
					b[i] = alphabet[rng.IntN(len(alphabet))]
				}
				inputs = append(inputs, string(b))
			}
			for _, s := range inputs {
				if got, want := g.check(s), g.re.MatchString(s); got != want {
					t.Fatalf("%s(%q) = %v, the regexp says %v", g.name, s, got, want)
				}
			}
		})
	}
}

func FuzzGrammar(f *testing.F) {
	for _, g := range grammar {
		for _, c := range g.cases {
			f.Add(c)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, g := range grammar {
			if got, want := g.check(s), g.re.MatchString(s); got != want {
				t.Fatalf("%s(%q) = %v, the regexp says %v", g.name, s, got, want)
			}
		}
	})
}
