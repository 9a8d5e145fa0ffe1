package cgroups

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

func TestField(t *testing.T) {
	tests := []struct {
		data string
		key  string
		want int64
		ok   bool
	}{
		{"oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill", 3, true},
		{"low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\n", "oom_kill", 1, true},
		{"oom 2\n", "oom_kill", 0, false},
	}
	for _, tc := range tests {
		got, ok := field([]byte(tc.data), tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("field(%q, %s) = %d %v, want %d %v", tc.data, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

// TestLimitsWritten creates a cgroup with limits, checks the kernel files
// carry them, and that Delete removes it.
func TestLimitsWritten(t *testing.T) {
	testutil.RequireRoot(t)
	mem, pids := int64(48<<20), int64(33)
	quota, period := int64(25000), uint64(100000)
	path := "/ctr-lite-test/" + filepath.Base(t.TempDir())
	cg, err := New(path, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &mem},
		Pids:   &specs.LinuxPids{Limit: &pids},
		CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/ctr-lite-test")
		dirs = append(dirs, "/sys/fs/cgroup/ctr-lite-test")
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	})
	files := map[string]string{
		"memory/" + path + "/memory.limit_in_bytes": "50331648\n",
		"pids/" + path + "/pids.max":                "33\n",
		"cpu/" + path + "/cpu.cfs_quota_us":         "25000\n",
	}
	if Unified() {
		files = map[string]string{path + "/memory.max": "50331648\n", path + "/pids.max": "33\n", path + "/cpu.max": "25000 100000\n"}
	}
	for f, want := range files {
		b, err := os.ReadFile(filepath.Join(unifiedRoot, f))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q (%v), want %q", f, b, err, want)
		}
	}
	if !Exists(path) {
		t.Errorf("Exists(%s) = false after New", path)
	}
	if err := cg.Delete(); err != nil {
		t.Fatal(err)
	}
	if Exists(path) {
		t.Errorf("cgroup %s still exists after Delete", path)
	}
}
