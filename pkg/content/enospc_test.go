package content

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

func TestDiskFull(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		testutil.Skipf(t, "cannot mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	s, err := Open(filepath.Join(mnt, "root"))
	if err != nil {
		t.Fatal(err)
	}
	mdesc := putJSON(t, s, "application/vnd.oci.image.index.v1+json", map[string]any{"schemaVersion": 2, "manifests": []any{}})
	if err := s.SetName(ctx, "example.com/a:1", mdesc); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(mnt, "filler")
	fb, _ := randomBlob(t, 600<<10)
	if err := os.WriteFile(filler, fb, 0o644); err != nil {
		t.Fatal(err)
	}
	data, desc := randomBlob(t, 700<<10)
	err = s.WriteBlob(ctx, desc, bytes.NewReader(data))
	if !isErr(err, syscall.ENOSPC) {
		t.Fatalf("WriteBlob on a full disk: err = %v, want ENOSPC", err)
	}
	t.Logf("error: %v", err)
	if _, err := s.Info(ctx, desc.Digest); !isErr(err, errdefs.ErrNotFound) {
		t.Fatal("blob visible after a failed write")
	}
	if n := countFiles(t, filepath.Join(s.Root().Path(), "content/blobs/sha256")); n != 1 { // the manifest only
		t.Fatalf("%d files in blobs/ after ENOSPC, want 1", n)
	}
	// index.json rewrites fail cleanly too, keeping the old index
	fill(t, filepath.Join(mnt, "filler2"))
	for i := 0; i < 100 && err == nil; i++ { // a long name makes the index grow past what is left
		err = s.SetName(ctx, "example.com/"+strings.Repeat("x", 100)+strconv.Itoa(i)+":1", mdesc)
	}
	if !isErr(err, syscall.ENOSPC) {
		t.Fatalf("SetName on a full disk: err = %v, want ENOSPC", err)
	}
	if got, err := s.Get(ctx, "example.com/a:1"); err != nil || got.Digest != mdesc.Digest {
		t.Fatalf("index damaged by a failed rewrite: %v %v", got, err)
	}
	os.Remove(filepath.Join(mnt, "filler2"))
	os.Remove(filler)
	if err := s.WriteBlob(ctx, desc, bytes.NewReader(data)); err != nil {
		t.Fatalf("after freeing space: %v", err)
	}
	if probs, err := s.Fsck(ctx, false); err != nil || len(probs) != 0 {
		t.Fatalf("fsck: %v %v", probs, err)
	}
}

// fill writes to p until the file system is full.
func fill(t *testing.T, p string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !isErr(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}
