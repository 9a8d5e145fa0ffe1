package content

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

func TestDiskFull(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	s, err := Open(filepath.Join(mnt, "root"))
	if err != nil {
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
	if _, err := s.Info(ctx, desc.Digest); !isErr(err, ErrNotFound) {
		t.Fatal("blob visible after a failed write")
	}
	if n := countFiles(t, filepath.Join(s.Root(), "content/blobs/sha256")); n != 0 {
		t.Fatalf("%d files in blobs/ after ENOSPC", n)
	}
	os.Remove(filler)
	if err := s.WriteBlob(ctx, desc, bytes.NewReader(data)); err != nil {
		t.Fatalf("after freeing space: %v", err)
	}
	if probs, err := s.Fsck(ctx, false); err != nil || len(probs) != 0 {
		t.Fatalf("fsck: %v %v", probs, err)
	}
}
