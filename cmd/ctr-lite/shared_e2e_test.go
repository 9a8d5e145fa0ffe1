package main

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestSharedBaseIsFetchedAndUnpackedOnce: the second of two images on the
// same base downloads and unpacks only its own layer.
func TestSharedBaseIsFetchedAndUnpackedOnce(t *testing.T) {
	testutil.RequireRoot(t)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	base := testutil.Image(t, testutil.Alpine)
	extra := testutil.Layer(t, []testutil.Entry{{Type: tar.TypeReg, Name: "app/hello.txt", Mode: 0o644, Content: []byte("hello\n")}})
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(extra)), nil })
	if err != nil {
		t.Fatal(err)
	}
	child, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	testutil.PushImage(t, reg, "base:1", base)
	testutil.PushImage(t, reg, "child:1", child)
	p := testutil.StartFaultProxy(t, reg)
	e := newEnv(t)
	e.must("pull", "--unpack", p.Host+"/base:1")
	baseBytes := p.BytesServed()
	out := e.must("pull", "--unpack", p.Host+"/child:1")
	for _, want := range []string{"downloaded 2 blobs", "1 already stored", "snapshots: 1 unpacked, 1 already there"} {
		if !strings.Contains(out, want) {
			t.Errorf("second pull output lacks %q:\n%s", want, out)
		}
	}
	childBytes := p.BytesServed() - baseBytes
	if childBytes > 64<<10 {
		t.Errorf("the child pull fetched %d bytes: more than its config, manifest and small layer", childBytes)
	}
	release, want := testutil.AlpineRelease(t)
	if out := e.must("run", "--rm", p.Host+"/child:1", "cat", "/app/hello.txt", release); out != "hello\n"+want {
		t.Errorf("child image contents: %q", out)
	}
}
