package cgroups

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// TestEnter: on v1 a locked thread that enters a cgroup forks a process
// that is in the cgroup in every hierarchy, and leave brings the thread
// back to where it was, with its CPU affinity; a pids limit of 1 and v2
// are refused (the caller then moves the process in).
func TestEnter(t *testing.T) {
	testutil.RequireRoot(t)
	one := int64(1)
	tests := []struct {
		name string
		res  *specs.LinuxResources
		ok   bool
	}{
		{"no limits", nil, !Unified()},
		{"pids limit 1", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &one}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "/ctr-lite-test/" + filepath.Base(t.TempDir())
			cg, err := New(path, tc.res)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = cg.Delete()
				_ = Remove("/ctr-lite-test")
			})
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			before, _ := os.ReadFile("/proc/thread-self/cgroup")
			var cpus, want unix.CPUSet
			if err := unix.SchedGetaffinity(0, &want); err != nil {
				t.Fatal(err)
			}
			if want.Count() > 1 { // a narrower mask than the cpuset's, to be restored
				want.Zero()
				want.Set(0)
				if err := unix.SchedSetaffinity(0, &want); err != nil {
					t.Fatal(err)
				}
			}
			leave, err := cg.Enter()
			if !tc.ok {
				if !errors.Is(err, errdefs.ErrUnsupported) {
					t.Errorf("Enter: %v, want ErrUnsupported", err)
				}
				if err := leave(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sleep", "10")
			startErr := cmd.Start()
			if err := leave(); err != nil {
				t.Fatal(err) // the thread stays locked: it ends with the test
			}
			if startErr != nil {
				t.Fatal(startErr)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			child, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(child)), "\n") {
				if !strings.HasPrefix(line, "0::") && !strings.HasSuffix(line, ":"+path) {
					t.Errorf("child cgroup line %q, want %s in every v1 hierarchy", line, path)
				}
			}
			after, _ := os.ReadFile("/proc/thread-self/cgroup")
			if string(after) != string(before) {
				t.Errorf("thread cgroups after leave:\n%s\nwant\n%s", after, before)
			}
			if err := unix.SchedGetaffinity(0, &cpus); err != nil || cpus != want {
				t.Errorf("thread affinity %v (%v) after leave, want %v", cpus, err, want)
			}
		})
	}
}
