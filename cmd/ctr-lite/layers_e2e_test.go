package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRunManyLayers: images with docker's maximum of 127 layers, and more,
// pull, run on overlay snapshots and unpack.
func TestRunManyLayers(t *testing.T) {
	testutil.RequireRoot(t)
	reg, refs := corpusRegistry(t, testutil.RegistryOptions{})
	base, err := remote.Image(reg.Ref(t, strings.TrimPrefix(refs["busybox"], reg.Host+"/")), reg.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	for _, total := range []int{127, mediatype.MaxLayers} { // docker's most, and overlayfs's
		t.Run(fmt.Sprint(total, " layers"), func(t *testing.T) {
			var tars [][]byte
			for i := 1; i < total; i++ { // the busybox layer is the first
				tars = append(tars, testutil.Layer(t, []testutil.Entry{testutil.File(fmt.Sprintf("layer%03d", i), "x")}))
			}
			repo := fmt.Sprintf("many:%d", total)
			testutil.PushImage(t, reg, repo, withLayers(t, base, tars...))
			ref := reg.Host + "/" + repo
			if out := e.must("run", "--rm", ref, "sh", "-c", "ls / | grep -c layer"); out != fmt.Sprintf("%d\n", total-1) {
				t.Errorf("run on %d layers: %q", total, out)
			}
			dir := t.TempDir() + "/rootfs"
			e.must("unpack", ref, dir)
			if _, err := os.Stat(fmt.Sprintf("%s/layer%03d", dir, total-1)); err != nil {
				t.Errorf("unpack of %d layers: %v", total, err)
			}
			if out := e.must("run", "--rm", ref, "cat", fmt.Sprintf("/layer%03d", total-1)); out != "x" {
				t.Errorf("top layer's file: %q", out)
			}
		})
	}
}
