package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadOnlyVolumeIsRecursive: a read-only volume is read-only all the
// way down, its submounts included (issue 13, High).
func TestReadOnlyVolumeIsRecursive(t *testing.T) {
	e, bb := busyboxEnv(t)
	// /sys/fs/cgroup (and its v1 hierarchies) are mounts below /sys.
	sub := "/sys/fs/cgroup"
	if _, err := os.Stat("/sys/fs/cgroup/pids/cgroup.procs"); err == nil {
		sub = "/sys/fs/cgroup/pids"
	}
	name := fmt.Sprintf("ctr-lite-rotest-%d", time.Now().UnixNano())
	t.Cleanup(func() { os.Remove(filepath.Join(sub, name)) })
	r := e.ctl("run", "--rm", "-v", "/sys:/hsys:ro", bb, "mkdir", "/hsys"+strings.TrimPrefix(filepath.Join(sub, name), "/sys"))
	if r.code == 0 || !strings.Contains(r.err, "Read-only file system") {
		t.Errorf("mkdir below a submount of a read-only volume: want EROFS: %s", r)
	}
	r = e.ctl("run", "--rm", "-v", "/:/host:ro", bb, "sh", "-c", "echo probe > /host/proc/sys/kernel/hostname")
	if r.code == 0 || !strings.Contains(r.err, "Read-only file system") {
		t.Errorf("write to /host/proc/sys through -v /:/host:ro: want EROFS: %s", r)
	}
	// Every mount below a read-only volume is read-only.
	out := e.must("run", "--rm", "-v", "/sys:/hsys:ro", bb, "cat", "/proc/self/mountinfo")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && strings.HasPrefix(f[4], "/hsys") && !strings.HasPrefix(f[5], "ro") {
			t.Errorf("writable mount below a read-only volume: %s", line)
		}
	}
}
