package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/mediatype"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

func TestRelativeOverlay(t *testing.T) {
	dir, got := relativeOverlay("lowerdir=/s/snap/a/fs:/s/snap/b/fs,upperdir=/s/c/x/upper,workdir=/s/c/x/work,index=off")
	if dir != "/s" || got != "lowerdir=snap/a/fs:snap/b/fs,upperdir=c/x/upper,workdir=c/x/work,index=off" {
		t.Errorf("relativeOverlay = %q %q", dir, got)
	}
	if dir, _ := relativeOverlay("lowerdir=/a/x:/b/y"); dir != "" {
		t.Errorf("no common parent, got %q", dir)
	}
}

// TestOverlayManyLayers mounts overlays whose options exceed a page: 45
// layers with long paths (shortened to relative paths on old kernels), and
// docker's 127 and overlayfs's limit, which need lowerdir+ (kernel >= 6.8).
func TestOverlayManyLayers(t *testing.T) {
	testutil.RequireRoot(t)
	for _, n := range []int{45, 127, mediatype.MaxLayers - 1} { // the busybox layer makes n+1
		t.Run(fmt.Sprint(n+1, " layers"), func(t *testing.T) {
			base, img := busybox(t)
			snaps := filepath.Join(filepath.Dir(base), "snapshots")
			var lowers []string
			for i := 0; i < n; i++ {
				d := filepath.Join(snaps, fmt.Sprintf("%064d", i), "fs")
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("layer%03d", i)), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				lowers = append(lowers, d)
			}
			lowers = append(lowers, base)
			c := filepath.Join(snaps, "c")
			for _, d := range []string{c + "/upper", c + "/work", c + "/rootfs"} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			opts := "lowerdir=" + strings.Join(lowers, ":")
			if len(opts) <= maxMountData {
				t.Fatalf("options only %d bytes: test does not exercise the limit", len(opts))
			}
			s := build(t, base, img, sh("ls / | grep -c layer"))
			s.Root.Path = c + "/rootfs"
			rm := []specs.Mount{{Type: "overlay", Source: "overlay", Options: []string{opts, "upperdir=" + c + "/upper", "workdir=" + c + "/work"}}}
			r := runSpec(t, testID(t), s, rm, "")
			if want := fmt.Sprintf("%d\n", n); r.err != nil || r.stdout != want {
				t.Fatalf("got %q (want %q) err %v stderr %q", r.stdout, want, r.err, r.stderr)
			}
		})
	}
}

// TestBindRootMountReadOnly: a single layer given as a read-only bind
// RootMount (what an overlay of one layer without an upper dir becomes).
func TestBindRootMountReadOnly(t *testing.T) {
	testutil.RequireRoot(t)
	layer, img := busybox(t)
	mnt := t.TempDir()
	s := build(t, layer, img, sh("touch /x 2>/dev/null && echo WROTE; ls /bin/sh"))
	s.Root.Path = mnt
	rm := []specs.Mount{{Type: "bind", Source: layer, Options: []string{"rbind", "ro"}}}
	r := runSpec(t, testID(t), s, rm, "")
	if r.err != nil || r.stdout != "/bin/sh\n" {
		t.Fatalf("got %q err %v stderr %q", r.stdout, r.err, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(layer, "x")); err == nil {
		t.Errorf("read-only layer was written")
	}
}

// TestPlantedDevNullRefused: with no /dev tmpfs in the spec, an image whose
// /dev/null is a symlink must not turn masking into a bind of its target.
func TestPlantedDevNullRefused(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/proc/sys/kernel/core_pattern", filepath.Join(root, "dev", "null")); err != nil {
		t.Fatal(err)
	}
	s := build(t, root, img, sh("true"))
	var kept []specs.Mount
	for _, m := range s.Mounts {
		if !strings.HasPrefix(m.Destination, "/dev") {
			kept = append(kept, m)
		}
	}
	s.Mounts = kept
	r := runSpec(t, testID(t), s, nil, "")
	if r.code != CodeRunnerFailed || r.err == nil || !strings.Contains(r.err.Error(), "/dev/null") {
		t.Fatalf("code %d err %v, want 125 refusing the planted /dev/null", r.code, r.err)
	}
}

// TestReadOnlyRootIsRecursive: --read-only covers the mounts the rootfs
// directory itself holds (a tmpfs below it stays writable before the fix),
// while the spec's own mounts (/dev/shm) keep their options.
func TestReadOnlyRootIsRecursive(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	sub := filepath.Join(root, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(sub, unix.MNT_DETACH) })
	opts := sh("touch /sub/x 2>/dev/null && echo WROTE; touch /dev/shm/y && echo shm-ok")
	opts.ReadOnly = true
	r := runSpec(t, testID(t), build(t, root, img, opts), nil, "")
	if r.err != nil || r.stdout != "shm-ok\n" {
		t.Fatalf("got %q err %v stderr %q", r.stdout, r.err, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(sub, "x")); err == nil {
		t.Errorf("a mount below a read-only rootfs was written")
	}
}

// TestChildMounts: on kernels without mount_setattr, a read-only mount is
// refused when childMounts finds mounts below it.
func TestChildMounts(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	count := func() int {
		fd, err := unix.Open(dir, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		n, err := childMounts(fd)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Errorf("childMounts of a bare tmpfs = %d, want 0", n)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("childMounts with a tmpfs below = %d, want 1", n)
	}
}
