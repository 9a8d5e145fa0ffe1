package apparmor

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestResolve: where AppArmor is not enabled (this host; the VM test
// covers an enabled kernel) the default profile quietly becomes none,
// unconfined is none, and any other profile is an error.
func TestResolve(t *testing.T) {
	if Enabled() {
		t.Skip("AppArmor is enabled here: TestCgroupV2InVM covers this case")
	}
	tests := []struct {
		ask, want string
		err       error
	}{
		{"", "", nil},
		{Unconfined, "", nil},
		{Default, "", nil},
		{"my-profile", "", ErrNotEnabled},
	}
	for _, tt := range tests {
		t.Run(tt.ask, func(t *testing.T) {
			got, err := Resolve(context.Background(), tt.ask)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("Resolve(%q) = %q, %v; want %q, %v", tt.ask, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestProfileNamesItself(t *testing.T) {
	p := Profile("x-default")
	for _, want := range []string{"profile x-default flags=", "peer=x-default", "deny mount,", "deny /proc/sysrq-trigger rwklx,"} {
		if !strings.Contains(p, want) {
			t.Errorf("profile lacks %q", want)
		}
	}
	if strings.Contains(p, "NAME") {
		t.Error("profile keeps the NAME placeholder")
	}
}
