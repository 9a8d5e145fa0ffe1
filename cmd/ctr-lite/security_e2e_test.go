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

// TestHostNetworkDropsNetRaw: on the host's network (the default) the
// container cannot open AF_PACKET sockets on the host's interfaces unless
// --cap-add NET_RAW asks for it (issue 13, Medium). busybox arping opens
// its AF_PACKET socket first, then refuses lo as not ARPable.
func TestHostNetworkDropsNetRaw(t *testing.T) {
	e, bb := busyboxEnv(t)
	r := e.ctl("run", "--rm", bb, "arping", "-c", "1", "-I", "lo", "127.0.0.1")
	if r.code == 0 || !strings.Contains(r.err, "Operation not permitted") {
		t.Errorf("AF_PACKET on the host network by default: want EPERM: %s", r)
	}
	r = e.ctl("run", "--rm", "--cap-add", "NET_RAW", bb, "arping", "-c", "1", "-I", "lo", "127.0.0.1")
	if !strings.Contains(r.err, "not ARPable") {
		t.Errorf("AF_PACKET with --cap-add NET_RAW: want the socket opened (then lo refused): %s", r)
	}
	if out := e.must("run", "--rm", "--network", "none", bb, "grep", "CapEff", "/proc/self/status"); out != "CapEff:\t00000000a80425fb\n" {
		t.Errorf("--network none keeps docker's default set: %q", out)
	}
}
