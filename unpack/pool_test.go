package unpack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"golang.org/x/sys/unix"
)

// poolGoroutines counts the goroutines of pools and prefetchers alive.
func poolGoroutines() int {
	buf := make([]byte, 1<<20)
	s := string(buf[:runtime.Stack(buf, true)])
	return strings.Count(s, "unpack.(*pool).worker") + strings.Count(s, "unpack.newPrefetcher.func")
}

// TestWorkerErrorStopsApply fills a tmpfs limited to 100 inodes: the first
// file (in layer order) that could not be made, by a worker, is the error
// Apply returns, named by its entry; every file before it exists; no
// goroutine is left.
func TestWorkerErrorStopsApply(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "nr_inodes=100,size=4m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	layer := testutil.Layer(t, append(entries{dirE("d")}, smallFiles("d", 300)...))
	_, err := Apply(context.Background(), dir, bytes.NewReader(layer), Options{})
	var ee *EntryError
	if !errors.As(err, &ee) || !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("error %v, want an entry's ENOSPC", err)
	}
	var first int
	if _, err := fmt.Sscanf(ee.Name, "d/f%03d", &first); err != nil {
		t.Fatalf("error names %q", ee.Name)
	}
	// Workers run batches side by side, so later files may exist; but the
	// error is the first file (in layer order) not made.
	for i := range first {
		if _, err := os.Lstat(filepath.Join(dir, fmt.Sprintf("d/f%03d", i))); err != nil {
			t.Errorf("file before the failed one: %v", err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, ee.Name)); !os.IsNotExist(err) {
		t.Errorf("the failed file %s exists (%v)", ee.Name, err)
	}
	if n := poolGoroutines(); n != 0 {
		t.Errorf("%d pool goroutines left", n)
	}
}

// cancelAfter cancels its context once n bytes have been read through it.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// TestCancelStopsWorkers cancels in the middle of a layer of small files
// (after the workers started): Apply and ApplyLayer return
// context.Canceled and leave no goroutine.
func TestCancelStopsWorkers(t *testing.T) {
	var es entries
	for d := range 20 {
		es = append(es, smallFiles(fmt.Sprintf("d%02d", d), 200)...)
	}
	layer := testutil.Layer(t, es)
	for _, viaLayer := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		r := &cancelAfter{r: bytes.NewReader(layer), n: len(layer) / 3, cancel: cancel}
		var err error
		if viaLayer {
			_, _, err = ApplyLayer(ctx, t.TempDir(), r, "application/vnd.oci.image.layer.v1.tar", Options{})
		} else {
			_, err = Apply(ctx, t.TempDir(), r, Options{})
		}
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("layer %v: error %v, want context.Canceled", viaLayer, err)
		}
		if n := poolGoroutines(); n != 0 {
			time.Sleep(100 * time.Millisecond)
			t.Errorf("layer %v: %d pool goroutines left", viaLayer, n)
		}
	}
}
