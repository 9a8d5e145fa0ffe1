package container

import (
	"regexp"
	"testing"
)

func TestValidNameMatchesGrammar(t *testing.T) {
	re := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	for _, s := range []string{"", "a", "Z9", "web-1", "web_1.x", "-a", "_a", ".a", "a/b", "a b", "a:b", "é", "a-", "a..", "0"} {
		t.Run(s, func(t *testing.T) {
			if got, want := validName(s), re.MatchString(s); got != want {
				t.Fatalf("validName(%q) = %v, want %v", s, got, want)
			}
		})
	}
}
