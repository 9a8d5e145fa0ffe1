package main

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/dataroot"
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

// TestHostNetworkDropsNetRaw: on the host's network (--network host) the
// container cannot open AF_PACKET sockets on the host's interfaces unless
// --cap-add NET_RAW asks for it (issue 13, Medium). busybox arping opens
// its AF_PACKET socket first, then refuses lo as not ARPable.
func TestHostNetworkDropsNetRaw(t *testing.T) {
	e, bb := busyboxEnv(t)
	r := e.ctl("run", "--rm", "--network", "host", bb, "arping", "-c", "1", "-I", "lo", "127.0.0.1")
	if r.code == 0 || !strings.Contains(r.err, "Operation not permitted") {
		t.Errorf("AF_PACKET on the host network by default: want EPERM: %s", r)
	}
	r = e.ctl("run", "--rm", "--network", "host", "--cap-add", "NET_RAW", bb, "arping", "-c", "1", "-I", "lo", "127.0.0.1")
	if !strings.Contains(r.err, "not ARPable") {
		t.Errorf("AF_PACKET with --cap-add NET_RAW: want the socket opened (then lo refused): %s", r)
	}
	if out := e.must("run", "--rm", "--network", "none", bb, "grep", "CapEff", "/proc/self/status"); out != "CapEff:\t00000000a80425fb\n" {
		t.Errorf("--network none keeps docker's default set: %q", out)
	}
}

// TestUnpackedTreeIsPrivate: as root, `unpack` and `bundle` make their
// target 0700, so an unprivileged user cannot reach the image's setuid-root
// binary or device node (issue 13, Medium), even when a layer's root entry
// says 0755.
func TestUnpackedTreeIsPrivate(t *testing.T) {
	testutil.RequireRoot(t)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	base := testutil.Image(t, testutil.Busybox)
	layer := testutil.Layer(t, []testutil.Entry{
		{Type: tar.TypeDir, Name: "./", Mode: 0o755},
		{Type: tar.TypeReg, Name: "bin/suid-root", Mode: 0o4755, Content: []byte("#!/bin/sh\nid -u\n")},
		{Type: tar.TypeChar, Name: "dev/open-null", Mode: 0o666, DevMajor: 1, DevMinor: 3},
	})
	testutil.PushImage(t, reg, "private/tree:1", withLayers(t, base, layer))
	ref := reg.Host + "/private/tree:1"
	e := newEnv(t)
	// A parent every user can traverse (t.TempDir is 0700).
	parent, err := os.MkdirTemp("", "ctr-lite-private-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	unpacked, bundle := filepath.Join(parent, "rootfs"), filepath.Join(parent, "bundle")
	e.must("unpack", "-q", ref, unpacked)
	e.must("bundle", ref, bundle, "true")
	for _, tc := range []struct{ dir, tree string }{{unpacked, unpacked}, {bundle, filepath.Join(bundle, "rootfs")}} {
		if st, err := os.Stat(tc.dir); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v (%v), want 0700", tc.dir, st.Mode(), err)
		}
		if st, err := os.Stat(filepath.Join(tc.tree, "bin/suid-root")); err != nil || st.Mode()&os.ModeSetuid == 0 {
			t.Fatalf("the setuid file was not unpacked as such: %v %v", st, err)
		}
		cmd := exec.Command("/bin/sh", "-c", `cat "$1" >/dev/null 2>&1 && echo read setuid file; true 2>/dev/null >"$2" && echo opened device rw; ls "$3" >/dev/null 2>&1 && echo listed; exit 0`,
			"sh", filepath.Join(tc.tree, "bin/suid-root"), filepath.Join(tc.tree, "dev/open-null"), tc.tree)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Errorf("user nobody reached %s: %q %v", tc.tree, out, err)
		}
	}
}

// cgroupDirs lists container id's cgroup directories (default parent) in
// every hierarchy.
func cgroupDirs(t *testing.T, id string) []string {
	t.Helper()
	v1, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*/ctr-lite", id))
	v2, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/ctr-lite", id))
	return append(v1, v2...)
}

// gone reports whether pid has exited (or is a zombie).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) == 0 || f[0] == "Z" || f[0] == "X"
}

// TestKilledRunLeavesNothing: kill -9 of `ctr-lite run -u 1000` takes the
// container down with it; ps then says it exited with an unknown status
// (not 0), and rm and gc remove its cgroup directories (issue 13, Medium).
func TestKilledRunLeavesNothing(t *testing.T) {
	e, bb := busyboxEnv(t)
	root, err := dataroot.Open(e.root)
	if err != nil {
		t.Fatal(err)
	}
	cs := container.NewStore(root)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	killed := func(name string) *container.Container {
		cmd := e.bin(ctx, "run", "--name", name, "-u", "1000", bb, "sleep", "100")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var c *container.Container
		testutil.Eventually(t, "the condition", func() bool {
			c, err = cs.Load(ctx, name)
			return err == nil && c.Status == container.Running && c.Pid > 0
		})
		t.Cleanup(func() { syscall.Kill(c.Pid, syscall.SIGKILL) })
		if len(cgroupDirs(t, c.ID)) == 0 {
			t.Fatalf("no cgroup directory for %s", c.ID)
		}
		cmd.Process.Kill()
		cmd.Wait()
		deadline := time.Now().Add(5 * time.Second)
		for !gone(c.Pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !gone(c.Pid) {
			t.Fatalf("container process %d of %s still runs after kill -9 of ctr-lite run", c.Pid, name)
		}
		return c
	}
	a := killed("killed-a")
	ps := e.must("ps", "-a")
	if !strings.Contains(ps, "killed-a") || strings.Contains(ps, "Exited (0)") || !strings.Contains(ps, "Exited (unknown)") {
		t.Errorf("ps -a after kill -9 of ctr-lite run, want Exited (unknown):\n%s", ps)
	}
	e.must("rm", "killed-a")
	if d := cgroupDirs(t, a.ID); len(d) > 0 {
		t.Errorf("rm left cgroup directories: %v", d)
	}
	b := killed("killed-b")
	e.must("gc")
	if d := cgroupDirs(t, b.ID); len(d) > 0 {
		t.Errorf("gc left cgroup directories of an exited container: %v", d)
	}
	if _, err := cs.Load(ctx, "killed-b"); err != nil {
		t.Errorf("gc removed the container record: %v", err)
	}
}

// TestRemoveRunningRuntimeContainer: a `run --runtime runc` container is
// recorded running with the runtime's pid: rm refuses it without -f, fsck
// --repair leaves its mounted rootfs alone, and rm -f kills it, unmounts
// and removes it (issue 13, Medium).
func TestRemoveRunningRuntimeContainer(t *testing.T) {
	e, bb := busyboxEnv(t)
	root, err := dataroot.Open(e.root)
	if err != nil {
		t.Fatal(err)
	}
	cs := container.NewStore(root)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := e.bin(ctx, "run", "--runtime", "runc", "--name", "rt", bb, "sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	var c *container.Container
	testutil.Eventually(t, "the condition", func() bool {
		c, err = cs.Load(ctx, "rt")
		return err == nil && c.Status == container.Running && c.Pid > 0
	})
	t.Cleanup(func() { syscall.Kill(c.Pid, syscall.SIGKILL) })
	busybox := filepath.Join(cs.Dir(c.ID), "rootfs", "bin", "busybox")
	if r := e.ctl("rm", "rt"); r.code == 0 || !strings.Contains(r.err, "running") {
		t.Errorf("rm of a running runc container: %s", r)
	}
	if _, err := os.Stat(busybox); err != nil {
		t.Fatalf("rm emptied a running container's root: %v", err)
	}
	e.must("fsck", "--repair")
	if _, err := os.Stat(busybox); err != nil {
		t.Fatalf("fsck --repair detached a running container's root: %v", err)
	}
	e.must("rm", "-f", "rt")
	if !gone(c.Pid) {
		t.Errorf("rm -f left the container's process %d", c.Pid)
	}
	if _, err := os.Stat(cs.Dir(c.ID)); !os.IsNotExist(err) {
		t.Errorf("rm -f left the container directory: %v", err)
	}
	if out := e.must("run", "--rm", bb, "sh", "-c", "ls /bin/busybox"); out != "/bin/busybox\n" {
		t.Errorf("the image's layers after rm -f: %q", out)
	}
}
