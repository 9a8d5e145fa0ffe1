package content

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// Tests here run the store in several processes: the test binary re-execs
// itself into TestHelperProcess with CTRLITE_CONTENT_HELPER set.
const helperEnv = "CTRLITE_CONTENT_HELPER"

// TestHelperProcess is not a test: it is the child side of the process
// tests. Arguments come in environment variables; it waits for the file
// $GO to exist (a start barrier) and prints one result word.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	os.Exit(helperMain(mode))
}

func helperMain(mode string) int {
	ctx := context.Background()
	s, err := Open(os.Getenv("ROOT"))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	for {
		if _, err := os.Stat(os.Getenv("GO")); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	data, _ := os.ReadFile(os.Getenv("DATA"))
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(data), Size: int64(len(data))}
	switch mode {
	case "stress":
		err = stress(ctx, s, os.Getenv("NAME"))
	case "setname":
		err = s.SetName(ctx, os.Getenv("NAME"), desc)
	case "write":
		var w *Writer
		w, err = s.Writer(ctx, desc)
		if errors.Is(err, errdefs.ErrExists) {
			fmt.Println("exists")
			return 0
		}
		if err == nil {
			_, err = w.Write(data)
		}
		if err == nil {
			err = w.Commit(ctx)
		}
		if err == nil {
			fmt.Println("wrote")
			w.Close()
		}
	case "slow": // write in small steps until killed or done
		var w *Writer
		w, err = s.Writer(ctx, desc)
		if errors.Is(err, errdefs.ErrExists) {
			fmt.Println("exists")
			return 0
		}
		for off := w.Offset(); err == nil && off < desc.Size; off = w.Offset() {
			end := min(off+64<<10, desc.Size)
			_, err = w.Write(data[off:end])
			time.Sleep(time.Millisecond)
		}
		if err == nil {
			err = w.Commit(ctx)
		}
	case "half":
		var w *Writer
		w, err = s.Writer(ctx, desc)
		if err == nil {
			_, err = w.Write(data[:len(data)/2])
		}
		if err == nil {
			os.WriteFile(os.Getenv("GO")+".half", nil, 0o644)
			select {} // wait for kill -9
		}
	}
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("ok")
	return 0
}

func helper(t *testing.T, mode, root, gate, data string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "ROOT="+root, "GO="+gate, "DATA="+data)
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

func TestProcessesSetNames(t *testing.T) {
	s := openStore(t)
	dir := t.TempDir()
	data, b, desc := blobFile(t, dir, 100)
	put(t, s, desc.MediaType, b)
	const n = 8
	runGated(t, dir, n, func(i int, gate string) *exec.Cmd {
		return helper(t, "setname", s.Root().Path(), gate, data, "NAME=example.com/img"+strconv.Itoa(i)+":latest")
	})
	list, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("%d names after %d concurrent SetName processes: %v", len(list), n, list)
	}
}

func TestProcessesWriteSameBlob(t *testing.T) {
	s := openStore(t)
	dir := t.TempDir()
	data, b, desc := blobFile(t, dir, 4<<20)
	const n = 6
	outs := runGated(t, dir, n, func(_ int, gate string) *exec.Cmd { return helper(t, "write", s.Root().Path(), gate, data) })
	wrote, exists := 0, 0
	for _, out := range outs {
		switch {
		case strings.HasPrefix(out, "wrote"):
			wrote++
		case strings.HasPrefix(out, "exists"):
			exists++
		}
	}
	if wrote != 1 || exists != n-1 {
		t.Fatalf("wrote %d, exists %d; want exactly one writer", wrote, exists)
	}
	got, err := os.ReadFile(s.blobPath(desc.Digest))
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("blob wrong after concurrent writes (%v)", err)
	}
	if n := countFiles(t, filepath.Join(s.Root().Path(), "content/blobs/sha256")); n != 1 {
		t.Fatalf("%d files in blobs/, want 1", n)
	}
	if n := countFiles(t, filepath.Join(s.Root().Path(), "ingest")); n != 0 {
		t.Fatalf("%d files left in ingest", n)
	}
}

func TestKilledWriterResumes(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	dir := t.TempDir()
	data, b, desc := blobFile(t, dir, 1<<20)
	gate := filepath.Join(dir, "go")
	os.WriteFile(gate, nil, 0o644)
	c := helper(t, "half", s.Root().Path(), gate, data)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	for { // wait until the child has written half and is parked
		if _, err := os.Stat(gate + ".half"); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()

	if _, err := s.Info(ctx, desc.Digest); !isErr(err, errdefs.ErrNotFound) {
		t.Fatal("partial blob visible after kill -9")
	}
	w, err := s.Writer(ctx, desc) // the dead process's lock is gone with it
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Offset() != int64(len(b)/2) {
		t.Fatalf("resume offset %d, want %d", w.Offset(), len(b)/2)
	}
	if _, err := w.Write(b[w.Offset():]); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if probs, err := s.Fsck(ctx, false); err != nil || len(probs) != 0 {
		t.Fatalf("fsck after resume: %v %v", probs, err)
	}
}

// stress is one process of TestProcessesStress: it builds images whose
// layers overlap with other processes', names them under a lease, drops
// some names and runs gc.
func stress(ctx context.Context, s *Store, id string) error {
	for j := 0; j < 12; j++ {
		release, err := s.Root().Lease(ctx)
		if err != nil {
			return err
		}
		layer := bytes.Repeat([]byte(fmt.Sprintf("layer-%d|", j%4)), 50000)
		ld := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(layer), Size: int64(len(layer))}
		cfg := []byte(fmt.Sprintf(`{"id":%q,"j":%d}`, id, j))
		cd := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
		man := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[{"mediaType":%q,"digest":%q,"size":%d}]}`,
			ocispec.MediaTypeImageManifest, cd.MediaType, cd.Digest, cd.Size, ld.MediaType, ld.Digest, ld.Size))
		md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(man), Size: int64(len(man))}
		for _, b := range []struct {
			d    ocispec.Descriptor
			data []byte
		}{{ld, layer}, {cd, cfg}, {md, man}} {
			if err := s.WriteBlob(ctx, b.d, bytes.NewReader(b.data)); err != nil {
				release()
				return err
			}
		}
		err = s.SetName(ctx, fmt.Sprintf("example.com/%s:%d", id, j), md)
		release()
		if err != nil {
			return err
		}
		if j%3 == 2 {
			if err := s.DeleteName(ctx, fmt.Sprintf("example.com/%s:%d", id, j-1)); err != nil {
				return err
			}
		}
		if j%4 == 3 {
			if _, err := s.GC(ctx, GCOptions{}); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestProcessesStress(t *testing.T) {
	s := openStore(t)
	dir := t.TempDir()
	const n = 6
	runGated(t, dir, n, func(i int, gate string) *exec.Cmd {
		return helper(t, "stress", s.Root().Path(), gate, "/dev/null", "NAME=p"+strconv.Itoa(i))
	})
	list, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := n * (12 - 4); len(list) != want { // 4 of 12 names dropped per process
		t.Fatalf("%d names, want %d", len(list), want)
	}
	// fsck checks every remaining name's blobs are present and intact
	if probs, err := s.Fsck(context.Background(), false); err != nil || len(probs) != 0 {
		t.Fatalf("fsck after concurrent writes, names and gc: %v %v", probs, err)
	}
	res, err := s.GC(context.Background(), GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if probs, _ := s.Fsck(context.Background(), false); len(probs) != 0 {
		t.Fatalf("fsck after a final gc: %v", probs)
	}
	t.Logf("final gc freed %d blobs", len(res.Blobs))
}

// TestCrashLoop kills a writer with SIGKILL at random points, 20 times:
// after every kill nothing partial is visible, fsck is clean and each new
// writer resumes where the last one stopped; in the end the blob commits.
func TestCrashLoop(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	dir := t.TempDir()
	data, b, desc := blobFile(t, dir, 8<<20)
	gate := filepath.Join(dir, "go")
	os.WriteFile(gate, nil, 0o644)
	var last int64
	resumed := 0
	for i := 0; i < 20; i++ {
		c := helper(t, "slow", s.Root().Path(), gate, data)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		// wait until this run has added bytes (or finished), then kill it
		for {
			fi, err := os.Stat(s.ingestPath(desc.Digest))
			if err == nil && fi.Size() > last {
				break
			}
			if _, err := s.Info(ctx, desc.Digest); err == nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(i%4) * time.Millisecond)
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		if probs, err := s.Fsck(ctx, false); err != nil || len(probs) != 0 {
			t.Fatalf("kill %d: fsck: %v %v", i, probs, err)
		}
		if _, err := s.Info(ctx, desc.Digest); err == nil {
			break // the writer finished before the kill
		}
		w, err := s.Writer(ctx, desc)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		off := w.Offset()
		w.Close()
		if off <= last {
			t.Fatalf("kill %d: partial went from %d to %d bytes; each run must resume and add", i, last, off)
		}
		resumed++
		last = off
	}
	if _, err := s.Info(ctx, desc.Digest); err != nil {
		w, err := s.Writer(ctx, desc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b[w.Offset():]); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx); err != nil {
			t.Fatalf("final commit after %d kills: %v", resumed, err)
		}
		w.Close()
	}
	got, _ := os.ReadFile(s.blobPath(desc.Digest))
	if !bytes.Equal(got, b) {
		t.Fatal("blob differs after the crash loop")
	}
	t.Logf("%d kills with progress, last partial %d of %d bytes", resumed, last, desc.Size)
}

// runGated starts n helper processes that wait for a gate file, opens the
// gate so they race, and returns what each printed; any failure fails t.
func runGated(t *testing.T, dir string, n int, mk func(i int, gate string) *exec.Cmd) []string {
	t.Helper()
	gate := filepath.Join(dir, "go")
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		cmds[i], outs[i] = mk(i, gate), &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(gate, nil, 0o644)
	printed := make([]string, n)
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("process %d: %v: %s", i, err, outs[i])
		}
		printed[i] = outs[i].String()
	}
	return printed
}
