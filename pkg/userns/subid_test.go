package userns

import (
	"os"
	"os/user"
	"path/filepath"
	"testing"
)

func TestSubRange(t *testing.T) {
	u := &user.User{Username: "alice", Uid: "1001"}
	tests := []struct {
		name, file string
		want       Range
		ok         bool
	}{
		{"by name", "bob:100000:65536\nalice:165536:65536\n", Range{165536, 65536}, true},
		{"by uid", "# comment\n\n1001:200000:1000\n", Range{200000, 1000}, true},
		{"first of several", "alice:300000:10\nalice:400000:10\n", Range{300000, 10}, true},
		{"none", "bob:100000:65536\n", Range{}, false},
		{"malformed lines skipped", "alice:x:10\nalice:5\nalice:10:0\nalice:500000:7\n", Range{500000, 7}, true},
		{"prefix is not a match", "alice2:100000:65536\n", Range{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "subuid")
			if err := os.WriteFile(p, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			got, ok, err := subRange(p, u)
			if err != nil || ok != tt.ok || got != tt.want {
				t.Fatalf("subRange = %v, %v, %v; want %v, %v", got, ok, err, tt.want, tt.ok)
			}
		})
	}
	if _, ok, err := subRange(filepath.Join(t.TempDir(), "missing"), u); ok || err != nil {
		t.Fatalf("missing file: %v %v", ok, err)
	}
}

func TestPlanWarning(t *testing.T) {
	if w := (Plan{Kind: Full}).Warning(); w != "" {
		t.Errorf("full mapping warns: %q", w)
	}
	if w := (Plan{Kind: Single, User: "alice", Why: "no range"}).Warning(); w == "" {
		t.Error("single mapping does not warn")
	}
}
