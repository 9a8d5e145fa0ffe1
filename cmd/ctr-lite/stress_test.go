package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// stress reports whether the long versions run (make stress sets
// CTRLITE_STRESS=1); `make test` runs the short ones.
func stress() bool { return os.Getenv("CTRLITE_STRESS") != "" }

// sized picks the short or the stress value.
func sized[T any](short, long T) T {
	if stress() {
		return long
	}
	return short
}

// hasCommand reports whether the CLI has the subcommand name yet.
func hasCommand(name string) bool {
	c, _, err := newRootCmd().Find([]string{name})
	return err == nil && c != nil && c.Name() == name
}

// newRand returns a seeded generator and logs the seed, so a failing
// sequence can be replayed with CTRLITE_SEED.
func newRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CTRLITE_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("random seed %d (set CTRLITE_SEED to replay)", seed)
	return rand.New(rand.NewPCG(seed, seed>>1|1))
}

// withLayers appends gzip layers built from tar streams to base.
func withLayers(t *testing.T, base v1.Image, tars ...[]byte) v1.Image {
	t.Helper()
	layers := make([]v1.Layer, len(tars))
	for i, tb := range tars {
		gz := testutil.Gzip(t, tb)
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(gz)), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			t.Fatal(err)
		}
		layers[i] = l
	}
	// One append of them all: appending one at a time nests an image per
	// layer, and the manifest of the last walks them all (quadratic).
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestCrashLoopPullUnpack kills `pull` and `unpack` of the Debian image at
// random moments, again and again. After every kill fsck must be clean
// (partial downloads are allowed); at the end a pull completes, and the
// registry has served the big layer less than twice in all: downloads
// resumed rather than restarted.
func TestCrashLoopPullUnpack(t *testing.T) {
	reg, _ := corpusRegistry(t, testutil.RegistryOptions{})
	big := bigLayer(t)
	size := blobSize(t, big)
	p := testutil.StartFaultProxy(t, reg)
	e := newEnv(t)
	rng := newRand(t)
	ref := p.Host + "/debian:bookworm-2layer"
	n := sized(5, 50)
	survived, finished := 0, 0
	for i := range n {
		args := []string{"pull", ref}
		if i%2 == 1 {
			args = []string{"unpack", "-q", ref, filepath.Join(t.TempDir(), "rootfs")}
		}
		// In the first half the big layer sends a few hundred KiB to 2 MiB
		// per process and then stalls until the kill; in the second half
		// it sometimes flows at full speed and the kill lands mid-transfer,
		// in the commit or in the unpack.
		p.Clear()
		delay := time.Duration(20+rng.IntN(400)) * time.Millisecond
		if i < n/2 || rng.IntN(3) != 0 {
			p.Add(testutil.Fault{Kind: testutil.FaultStall, Method: "GET", Path: "/blobs/" + big, After: 256<<10 + rng.Int64N(2<<20)})
			delay = time.Duration(50+rng.IntN(2000)) * time.Millisecond
		}
		cmd := e.bin(t.Context(), args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			// Done before the kill: it must have succeeded.
			if err != nil {
				t.Fatalf("iteration %d: %s ended by itself with %v:\n%s", i, args[0], err, out.String())
			}
			finished++
		case <-time.After(delay):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
		}
		r := e.ctl("fsck")
		if r.code != 0 || !strings.Contains(r.out, "no problems found") {
			t.Fatalf("iteration %d: fsck after killing %s at %v: %s", i, args[0], delay, r)
		}
		survived++
	}
	t.Logf("crash loop: %d iterations survived (%d finished before their kill)", survived, finished)

	p.Clear()
	mark := len(p.BlobGets(big))
	var partial int64
	if fi, err := os.Stat(filepath.Join(e.root, "ingest", strings.TrimPrefix(big, "sha256:"))); err == nil {
		partial = fi.Size()
	}
	out := e.must("pull", ref)
	gets := p.BlobGets(big)
	if final := gets[mark:]; partial > 0 && (len(final) == 0 || !strings.HasPrefix(final[0].Range, fmt.Sprintf("bytes=%d-", partial))) {
		t.Errorf("final pull did not resume the big layer from its %d partial bytes: %+v\n%s", partial, final, out)
	}
	ranged := 0
	for _, g := range gets {
		if g.Range != "" && !strings.HasPrefix(g.Range, "bytes=0-") {
			ranged++
		}
	}
	if len(gets) > 1 && ranged == 0 {
		t.Errorf("%d GETs of the big layer and none resumed with a Range: %+v", len(gets), gets)
	}
	var served int64
	for _, g := range gets {
		served += g.Bytes
	}
	t.Logf("final pull found %d bytes of the big layer downloaded", partial)
	t.Logf("big layer: %d bytes, served %d bytes over %d GETs (%d ranged, %.2fx)", size, served, len(gets), ranged, float64(served)/float64(size))
	if served >= 2*size {
		t.Errorf("registry served %d bytes of the %d-byte big layer: downloads restarted instead of resuming", served, size)
	}
	e.must("unpack", "-q", ref, filepath.Join(t.TempDir(), "rootfs"))
	e.fsckClean()
}

// concOp is one kind of operation the concurrency test's workers do.
type concOp string

const (
	opPull   concOp = "pull"
	opUnpack concOp = "unpack"
	opRun    concOp = "run"
	opTag    concOp = "tag"
	opRmi    concOp = "rmi"
	opGC     concOp = "gc"
)

// concState is what the workers share: counts and the tags that must
// survive.
type concState struct {
	mu   sync.Mutex
	done map[concOp]int
	tags map[string]string // tag -> source it names
	errs []string
}

func (s *concState) ok(op concOp) {
	s.mu.Lock()
	s.done[op]++
	s.mu.Unlock()
}

func (s *concState) fail(format string, a ...any) {
	s.mu.Lock()
	s.errs = append(s.errs, fmt.Sprintf(format, a...))
	s.mu.Unlock()
}

// TestConcurrentStoreUse runs many processes on one store at once for a
// bounded time: pulls, unpacks and runs of overlapping images, name
// removals, tags and gc. Pull, unpack and run of a registry image must
// always succeed (unpack and run pull again what a gc took away); a tag
// that was written keeps its image whole. Afterwards fsck is clean and every
// name can be unpacked (and run).
func TestConcurrentStoreUse(t *testing.T) {
	reg, refs := corpusRegistry(t, testutil.RegistryOptions{})
	// An image sharing Alpine's layer: removing Alpine must not take it.
	derived := withLayers(t, testutil.Image(t, testutil.Alpine), testutil.Layer(t, []testutil.Entry{
		testutil.Dir("etc"), testutil.File("etc/derived", "derived image\n"),
	}))
	testutil.PushImage(t, reg, "derived:1", derived)
	images := []string{refs["busybox"], refs["alpine"], refs["debian"], reg.Host + "/derived:1"}

	canRun := hasCommand("run") && os.Geteuid() == 0
	if !canRun {
		t.Log("`run` is not wired (or not root): workers skip running images")
	}
	workers := sized(6, 16)
	span := sized(20*time.Second, 2*time.Minute)
	e := newEnv(t)
	st := &concState{done: map[concOp]int{}, tags: map[string]string{}}
	ops := []concOp{opPull, opPull, opUnpack, opUnpack, opRun, opTag, opTag, opRmi, opGC}
	seed := newRand(t)
	deadline := time.Now().Add(span)
	var wg sync.WaitGroup
	for w := range workers {
		rng := rand.New(rand.NewPCG(seed.Uint64(), uint64(w)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []string // tags this worker made and has not removed
			for n := 0; time.Now().Before(deadline); n++ {
				op := ops[rng.IntN(len(ops))]
				img := images[rng.IntN(len(images))]
				if op == opRun && !canRun {
					op = opUnpack
				}
				concStep(t, e, st, w, n, op, img, &mine, rng)
			}
		}()
	}
	wg.Wait()

	total := 0
	var counts []string
	for op, c := range st.done {
		total += c
		counts = append(counts, fmt.Sprintf("%s %d", op, c))
	}
	sort.Strings(counts)
	t.Logf("%d workers, %v: %d operations completed (%s)", workers, span, total, strings.Join(counts, ", "))
	for _, msg := range st.errs {
		t.Error(msg)
	}
	e.fsckClean()
	listed := e.must("images", "-q")
	for tag := range st.tags {
		if !strings.Contains(listed, tag) {
			t.Errorf("tag %s was written and never removed, but is gone:\n%s", tag, listed)
		}
	}
	// Every name left can be unpacked from the store (once per image:
	// fsck has checked every name's blobs) and run.
	var list []image.Summary
	if err := json.Unmarshal([]byte(e.must("images", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	unpacked := map[string]bool{}
	for _, im := range list {
		if !unpacked[im.Digest.String()] {
			unpacked[im.Digest.String()] = true
			if r := e.ctl("unpack", "-q", im.Name, filepath.Join(t.TempDir(), "rootfs")); r.code != 0 {
				t.Errorf("unpack %s after the storm: %s", im.Name, r)
			}
		}
		if canRun {
			if r := e.runBin(2*time.Minute, "run", "--rm", im.Name, "true"); r.code != 0 {
				t.Errorf("run %s after the storm: %s", im.Name, r.result)
			}
		}
	}
	t.Logf("%d names left (%d images), all unpacked and run", len(list), len(unpacked))
	e.fsckClean()
}

// concStep runs one operation as a separate process and records whether it
// did what it must.
func concStep(t *testing.T, e *env, st *concState, w, n int, op concOp, img string, mine *[]string, rng *rand.Rand) {
	const limit = 3 * time.Minute
	run := func(args ...string) binResult {
		r := e.runBin(limit, args...)
		if r.hung {
			st.fail("worker %d: ctr-lite %s hung", w, strings.Join(args, " "))
		}
		return r
	}
	switch op {
	case opPull:
		if r := run("pull", "-q", img); r.code != 0 {
			st.fail("worker %d: pull %s: %s", w, img, r.result)
			return
		}
	case opUnpack:
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("w%d-%d", w, n))
		r := run("unpack", "-q", img, dir)
		os.RemoveAll(dir)
		if r.code != 0 {
			st.fail("worker %d: unpack %s (an image in use lost its blobs?): %s", w, img, r.result)
			return
		}
	case opRun:
		if r := run("run", "--rm", img, "true"); r.code != 0 {
			st.fail("worker %d: run %s: %s", w, img, r.result)
			return
		}
	case opTag:
		// Either name a registry image again, or remove one of our tags.
		if len(*mine) > 0 && rng.IntN(3) == 0 {
			i := rng.IntN(len(*mine))
			tag := (*mine)[i]
			if r := run("rmi", tag); r.code != 0 {
				st.fail("worker %d: rmi of its own tag %s: %s", w, tag, r.result)
				return
			}
			*mine = append((*mine)[:i], (*mine)[i+1:]...)
			st.mu.Lock()
			delete(st.tags, tag)
			st.mu.Unlock()
			st.ok(opRmi)
			return
		}
		if r := run("pull", "-q", img); r.code != 0 {
			st.fail("worker %d: pull %s before tagging: %s", w, img, r.result)
			return
		}
		st.ok(opPull)
		tag := fmt.Sprintf("localhost/w%d:%d", w, n)
		r := run("tag", img, tag)
		if r.code != 0 {
			// Another worker may have removed img's name since the pull.
			if r.code != 1 || !strings.Contains(r.err, img) {
				st.fail("worker %d: tag %s %s: %s", w, img, tag, r.result)
			}
			return
		}
		*mine = append(*mine, tag)
		st.mu.Lock()
		st.tags[tag] = img
		st.mu.Unlock()
	case opRmi:
		// Registry names only: a removed one is pulled again by the next user.
		r := run("rmi", img)
		if r.code != 0 && (r.code != 1 || !strings.Contains(r.err, img)) {
			st.fail("worker %d: rmi %s: %s", w, img, r.result)
			return
		}
	case opGC:
		if r := run("gc"); r.code != 0 {
			st.fail("worker %d: gc: %s", w, r.result)
			return
		}
	}
	st.ok(op)
}
