package main

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs of the given size ("20m") on a new directory
// and unmounts it when the test ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Fatalf("mount tmpfs size=%s on %s: %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			_ = unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	return dir
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// TestDiskFullPull pulls the Debian image (a 49 MB layer) into a store on a
// 20 MB tmpfs: the pull fails saying there is no space, stores no partial or
// bad blob and no name; after the tmpfs grows the same pull succeeds.
func TestDiskFullPull(t *testing.T) {
	testutil.RequireRoot(t)
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	big := bigLayer(t)
	mnt := mountTmpfs(t, "20m")
	e := newEnv(t)
	e.root = filepath.Join(mnt, "root")

	r := e.runBin(3*time.Minute, "pull", refs["debian"])
	if r.hung {
		t.Fatalf("pull on a full disk hung: %s", r.result)
	}
	if r.code == 0 {
		t.Fatalf("pull of a 49 MB layer into 20 MB succeeded: %s", r.result)
	}
	oneLineError(t, r.result, "no space left on device")
	t.Logf("pull into 20 MB: %s", strings.TrimSpace(r.err))
	// The error says what the partial downloads hold and how to free it.
	st0, err := content.Open(e.root)
	if err != nil {
		t.Fatal(err)
	}
	if n, held, err := st0.Partials(); err != nil || n == 0 || !strings.Contains(r.err, units.HumanSize(held)+" held in "+strconv.Itoa(n)+" partial downloads") ||
		!strings.Contains(r.err, "`ctr-lite gc` frees them") {
		t.Errorf("full-disk error does not say the %d partial downloads hold %d bytes (%v): %s", n, held, err, r.err)
	}
	if r.rss > maxChildRSS {
		t.Errorf("peak RSS %d MiB", r.rss>>20)
	}
	e.fsckClean() // every blob in blobs/ is whole and matches its name
	for _, b := range storedBlobs(t, e.root) {
		if "sha256:"+b == big {
			t.Errorf("the big layer is in content/blobs after a pull that ran out of space")
		}
		if strings.Contains(b, ".") || strings.Contains(b, "tmp") {
			t.Errorf("temporary file visible in content/blobs: %s", b)
		}
	}
	st, err := content.Open(e.root)
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := st.List(context.Background()); len(names) != 0 {
		t.Errorf("failed pull left names %v", names)
	}

	if err := unix.Mount("tmpfs", mnt, "tmpfs", unix.MS_REMOUNT, "size=200m"); err != nil {
		t.Fatalf("remount size=200m: %v", err)
	}
	r = e.runBin(3*time.Minute, "pull", refs["debian"])
	if r.code != 0 {
		t.Fatalf("pull after freeing space: %s", r.result)
	}
	e.fsckClean()
	e.must("unpack", "-q", refs["debian"], filepath.Join(t.TempDir(), "rootfs"))
}

// TestDiskFullUnpack unpacks the Debian image (128 MB) into a 10 MB tmpfs:
// a clear "no space" error, and nothing beside the target changes.
func TestDiskFullUnpack(t *testing.T) {
	testutil.RequireRoot(t)
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	e := newEnv(t)
	e.must("pull", "-q", refs["debian"])
	small := mountTmpfs(t, "10m")
	sentinel := filepath.Join(small, "sentinel")
	if err := os.MkdirAll(filepath.Join(sentinel, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sentinel, "sub", "file"), []byte("keep"), 0o640); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1600000000, 0)
	os.Chtimes(filepath.Join(sentinel, "sub", "file"), old, old)
	before := testutil.Tree(t, sentinel, testutil.TreeOptions{MTime: true})

	r := e.runBin(3*time.Minute, "unpack", refs["debian"], filepath.Join(small, "rootfs"))
	if r.hung {
		t.Fatalf("unpack into a full disk hung: %s", r.result)
	}
	if r.code == 0 {
		t.Fatalf("unpack of 128 MB into 10 MB succeeded: %s", r.result)
	}
	oneLineError(t, r.result, "no space left on device")
	t.Logf("unpack into 10 MB: %s", strings.TrimSpace(r.err))
	if got := dirNames(t, small); strings.Join(got, " ") != "rootfs sentinel" {
		t.Errorf("entries beside the target after the failed unpack: %v", got)
	}
	if d := testutil.DiffTrees(before, testutil.Tree(t, sentinel, testutil.TreeOptions{MTime: true})); len(d) > 0 {
		t.Errorf("the directory beside the target changed: %v", d)
	}
	e.fsckClean()
}
