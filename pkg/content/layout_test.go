package content

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// copyLayout stores every blob of an OCI layout directory and names its
// first image; it returns the manifest descriptor.
func copyLayout(t *testing.T, s *Store, dir, name string) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "blobs/sha256"))
	for _, e := range ents {
		f, err := os.Open(filepath.Join(dir, "blobs/sha256", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		d := ocispec.Descriptor{Digest: digest.NewDigestFromEncoded(digest.SHA256, e.Name()), Size: fi.Size()}
		if err := s.WriteBlob(ctx, d, f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	m := idx.Manifests[0]
	if err := s.SetName(ctx, name, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLayoutReadableByTools(t *testing.T) {
	src := testutil.ImageLayout(t, testutil.Busybox)
	s := openStore(t)
	const name = "docker.io/library/busybox:1.38.0-musl"
	m := copyLayout(t, s, src, name)
	layout := filepath.Join(s.Root().Path(), "content")
	ctx := context.Background()
	if probs, err := s.Fsck(ctx, false); err != nil || len(probs) != 0 {
		t.Fatalf("fsck: %v %v", probs, err)
	}
	t.Run("umoci", func(t *testing.T) {
		testutil.RequireTool(t, "umoci", "umoci")
		out, err := exec.Command("umoci", "ls", "--layout", layout).CombinedOutput()
		if err != nil {
			t.Fatalf("umoci ls: %v: %s", err, out)
		}
		if !strings.Contains(string(out), name) {
			t.Fatalf("umoci ls does not list %s: %s", name, out)
		}
	})
	t.Run("skopeo", func(t *testing.T) {
		testutil.RequireTool(t, "skopeo", "skopeo")
		out, err := exec.Command("skopeo", "inspect", "oci:"+layout+":"+name).CombinedOutput()
		if err != nil {
			t.Fatalf("skopeo inspect: %v: %s", err, out)
		}
		var res struct{ Digest string }
		if err := json.Unmarshal(out, &res); err != nil || res.Digest != m.Digest.String() {
			t.Fatalf("skopeo inspect digest %q, want %s (%v)", res.Digest, m.Digest, err)
		}
	})
	// gc keeps everything of a named image
	res, err := s.GC(ctx, GCOptions{})
	if err != nil || len(res.Blobs) != 0 {
		t.Fatalf("gc removed %v (%v)", res.Blobs, err)
	}
}
