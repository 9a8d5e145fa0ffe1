package main

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadOnlyStore: a store mounted read-only (a CI cache, a snapshot of
// /var/lib/ctr-lite) serves every command that only reads it.
func TestReadOnlyStore(t *testing.T) {
	e, bb := busyboxEnv(t)
	e.must("unpack", bb, filepath.Join(t.TempDir(), "warm")) // snapshots and locks exist as after real use
	if err := unix.Mount(e.root, e.root, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(e.root, unix.MNT_DETACH) })
	if err := unix.Mount("", e.root, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.root, "probe"), nil, 0o600); err == nil {
		t.Fatal("the store is still writable")
	}
	out := t.TempDir()
	for _, args := range [][]string{
		{"images"},
		{"images", "--json"},
		{"inspect", "config", bb},
		{"inspect", "layers", bb},
		{"export", bb, filepath.Join(out, "bb.tar")},
		{"unpack", bb, filepath.Join(out, "rootfs")},
		{"fsck"},
	} {
		t.Run(args[0], func(t *testing.T) {
			if r := e.ctl(args...); r.code != 0 {
				t.Errorf("ctr-lite %v on a read-only store: %s", args, r)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(out, "rootfs", "bin", "busybox")); err != nil {
		t.Errorf("unpack from the read-only store: %v", err)
	}
}
