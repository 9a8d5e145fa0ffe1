package inspect

import (
	"fmt"
	"testing"
)

func TestModeStringAllModes(t *testing.T) {
	for perm := uint32(0); perm < 0o20000; perm++ { // the type bits above 0o7777 are masked
		if got, want := modeString(perm), fmt.Sprintf("%04o", perm&0o7777); got != want {
			t.Fatalf("modeString(%o) = %q, want %q", perm, got, want)
		}
	}
}
