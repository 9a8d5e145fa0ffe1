package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// TestOpaqueRootSameEverywhere pushes busybox plus a layer with an opaque
// marker at its root and a static busybox of its own: unpack (parallel and
// rootless sequential) and run must all see only that layer's entries.
func TestOpaqueRootSameEverywhere(t *testing.T) {
	testutil.RequireRoot(t)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		testutil.Skipf(t, "no static busybox on the host (apt-get install busybox-static): %v", err)
	}
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	base := testutil.Image(t, testutil.Busybox)
	top := testutil.Layer(t, []testutil.Entry{
		testutil.File(".wh..wh..opq", ""),
		{Name: "bin/busybox", Mode: 0o755, Content: bb},
		testutil.File("marker", "top"),
	})
	testutil.PushImage(t, reg, "opaque/root:1", withLayers(t, base, top))
	ref := reg.Host + "/opaque/root:1"
	e := newEnv(t)
	e.must("pull", "-q", ref)
	want := []string{"bin", "marker"}
	for _, args := range [][]string{{"unpack", "-q"}, {"unpack", "-q", "--rootless"}} {
		dir := filepath.Join(t.TempDir(), "rootfs")
		e.must(append(args, ref, dir)...)
		if got := dirNames(t, dir); !slices.Equal(got, want) {
			t.Errorf("%s: root holds %v, want %v", strings.Join(args, " "), got, want)
		}
	}
	r := e.runBin(time.Minute, "run", "--rm", ref, "/bin/busybox", "ls", "-1", "/")
	if r.code != 0 {
		t.Fatalf("run: %s", r.result)
	}
	got := strings.Fields(r.out)
	if !slices.Contains(got, "marker") {
		t.Errorf("run: / holds %v, no marker", got)
	}
	for _, lower := range []string{"home", "usr", "var", "root"} {
		if slices.Contains(got, lower) {
			t.Errorf("run: / holds %q from the layers below the opaque root: %v", lower, got)
		}
	}
}
