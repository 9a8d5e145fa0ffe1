package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// TestFsckFindsAndRepairs: a corrupt blob and a snapshot whose build did
// not finish are reported with their paths, --repair removes them, and the
// next pull and run fetch and rebuild what is missing.
func TestFsckFindsAndRepairs(t *testing.T) {
	e, bb := busyboxEnv(t)
	e.must("run", "--rm", bb, "true") // builds the snapshot
	blobs, _ := filepath.Glob(filepath.Join(e.root, "content", "blobs", "sha256", "*"))
	var layer string
	for _, b := range blobs {
		if fi, _ := os.Stat(b); fi.Size() > 100000 {
			layer = b
		}
	}
	if layer == "" {
		t.Fatal("no layer blob in the store")
	}
	f, err := os.OpenFile(layer, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), 1000)
	f.Close()
	snaps, _ := filepath.Glob(filepath.Join(e.root, "snapshots", "*", "done"))
	if len(snaps) != 1 {
		t.Fatalf("%d complete snapshots, want 1", len(snaps))
	}
	os.Remove(snaps[0])

	r := e.ctl("fsck")
	if r.code != 1 || !strings.Contains(r.out, layer) || !strings.Contains(r.out, filepath.Dir(snaps[0])) {
		t.Fatalf("fsck should name the corrupt blob and the incomplete snapshot: %s", r)
	}
	if r := e.ctl("fsck", "--repair"); r.code != 0 || !strings.Contains(r.out, "repaired") {
		t.Fatalf("fsck --repair: %s", r)
	}
	if _, err := os.Stat(layer); !os.IsNotExist(err) {
		t.Errorf("the corrupt blob is still there: %v", err)
	}
	// The name stays; what it misses now is reported until a pull brings it back.
	if r := e.ctl("fsck"); r.code != 1 || !strings.Contains(r.out, "missing") {
		t.Errorf("fsck after repair, before the pull: %s", r)
	}
	out := e.must("pull", bb)
	if !strings.Contains(out, "downloaded 1 blobs") {
		t.Errorf("pull after repair should fetch the one missing layer:\n%s", out)
	}
	if out := e.must("run", "--rm", bb, "echo", "rebuilt"); out != "rebuilt\n" {
		t.Errorf("run after repair: %q", out)
	}
	e.fsckClean()
}

// TestFsckRelativeRoot: with a relative --root, fsck still finds a mount
// left under a container that is not running, and --repair unmounts it
// (every part is opened from one absolute root).
func TestFsckRelativeRoot(t *testing.T) {
	e, bb := busyboxEnv(t)
	e.must("run", bb, "true") // an exited container, kept
	dirs, _ := filepath.Glob(filepath.Join(e.root, "containers", "*", "state.json"))
	if len(dirs) != 1 {
		t.Fatalf("%d container records, want 1", len(dirs))
	}
	leak := filepath.Join(filepath.Dir(dirs[0]), "leak")
	if err := os.Mkdir(leak, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", leak, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(leak, unix.MNT_DETACH) })
	relative := func(args ...string) result {
		t.Helper()
		full := append([]string{"--root", filepath.Base(e.root), "--config", e.config}, args...)
		cmd := exec.Command(binPath, full...)
		cmd.Dir = filepath.Dir(e.root)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if x, ok := err.(*exec.ExitError); ok {
			code = x.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{out.String(), errb.String(), code}
	}
	if r := relative("fsck"); r.code != 1 || !strings.Contains(r.out, leak+": mount left by a container that is not running") {
		t.Fatalf("fsck with a relative --root should name the leaked mount %s: %s", leak, r)
	}
	if r := relative("fsck", "--repair"); r.code != 0 {
		t.Fatalf("fsck --repair: %s", r)
	}
	if mounted, err := mountinfo.Mounted(leak); err != nil || mounted {
		t.Errorf("after --repair %s is still mounted (%v)", leak, err)
	}
	if r := relative("fsck"); r.code != 0 {
		t.Errorf("fsck after repair: %s", r)
	}
}
