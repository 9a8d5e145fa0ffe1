package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// TestRePullUnchangedIsOneHead: pulling an image again when the tag has
// not moved makes one manifest request, a HEAD (what `crane digest` makes),
// fetches no blob and does not rewrite index.json; once the tag moves, the
// next pull fetches the new manifest and names it.
func TestRePullUnchangedIsOneHead(t *testing.T) {
	reg, refs := corpusRegistry(t, testutil.RegistryOptions{})
	p := testutil.StartFaultProxy(t, reg)
	e := newEnv(t)
	ref := strings.Replace(refs["busybox"], reg.Host, p.Host, 1)
	first := lastLine(e.must("pull", "-q", ref))
	index := filepath.Join(e.root, "content", "index.json")
	inode := func() uint64 {
		fi, err := os.Stat(index)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	before := inode()

	p.ResetLog()
	if got := lastLine(e.must("pull", "-q", ref)); got != first {
		t.Fatalf("re-pull says %s, first pull %s", got, first)
	}
	var manifests []string
	for _, r := range p.Log() {
		switch {
		case strings.Contains(r.Path, "/manifests/"):
			manifests = append(manifests, r.Method)
		case strings.Contains(r.Path, "/blobs/"):
			t.Errorf("re-pull fetched a blob: %s %s", r.Method, r.Path)
		}
	}
	if len(manifests) != 1 || manifests[0] != "HEAD" {
		t.Errorf("re-pull manifest requests: %v, want one HEAD", manifests)
	}
	if inode() != before {
		t.Error("re-pull of an unchanged image rewrote index.json")
	}

	// The tag moves: the HEAD names a manifest the store lacks.
	testutil.PushLayout(t, reg, testutil.ImageLayout(t, testutil.Alpine), "library/busybox:1.38.0-musl")
	p.ResetLog()
	moved := lastLine(e.must("pull", "-q", ref))
	if moved == first {
		t.Fatalf("pull after the tag moved still says %s", moved)
	}
	gets := 0
	for _, r := range p.Log() {
		if strings.Contains(r.Path, "/manifests/") && r.Method == "GET" {
			gets++
		}
	}
	if gets == 0 {
		t.Error("pull after the tag moved fetched no manifest")
	}
	var images []struct {
		Name   string `json:"name"`
		Digest string `json:"digest"`
	}
	if err := json.Unmarshal([]byte(e.must("images", "--json")), &images); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, im := range images {
		if strings.HasSuffix(im.Name, "library/busybox:1.38.0-musl") {
			found = true
			if !strings.Contains(moved, im.Digest) && im.Digest != moved {
				t.Errorf("images names %s for the tag, the pull said %s", im.Digest, moved)
			}
		}
	}
	if !found {
		t.Errorf("images --json lost the name: %+v", images)
	}
}
