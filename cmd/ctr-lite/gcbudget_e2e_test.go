package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// textLayer is a tar of n files of size bytes of seeded word text (about
// 3:1 with zstd, so the decoder works through its whole window).
func textLayer(t *testing.T, seed uint64, n, size int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 17))
	words := make([]string, 512)
	for i := range words {
		b := make([]byte, 2+rng.IntN(9))
		for j := range b {
			b[j] = byte('a' + rng.IntN(26))
		}
		words[i] = string(b)
	}
	// Directory entries first, as image builders write them.
	es := []testutil.Entry{testutil.Dir("data/"), testutil.Dir(fmt.Sprintf("data/l%d/", seed))}
	for i := range n {
		var b bytes.Buffer
		for b.Len() < size {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(" \n"[rng.IntN(2)])
		}
		es = append(es, testutil.Entry{Name: fmt.Sprintf("data/l%d/f%03d.txt", seed, i), Content: b.Bytes()[:size], Mode: 0o644})
	}
	return testutil.Layer(t, es)
}

// zstdStream compresses b as a streaming writer does (the default level's
// 8 MiB window, as in `zstd` and the bench's generated image).
func zstdStream(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, err := zstd.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(zw, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestUnpackGCBudget unpacks an image of four 16 MiB zstd layers, from
// the registry and from the store, and counts the garbage collections
// (GODEBUG=gctrace=1 prints one line each) and the peak RSS: a soft
// memory limit set just above what the layers hold live, and buffers in
// sync.Pools that each GC empties, made a GC run for every MiB allocated
// (12-29 GCs here, 200 for the bench's 600 MB image; now 2-5); a limit
// that is too high, or memory that grows with the layers, breaks the
// 64 MiB RSS bound of issue 17.
func TestUnpackGCBudget(t *testing.T) {
	testutil.RequireRoot(t)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	var img v1.Image = testutil.Image(t, testutil.Busybox)
	for i := range 4 {
		zs := zstdStream(t, textLayer(t, uint64(i+1), 16, 1<<20))
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(zs)), nil
		}, tarball.WithMediaType(types.OCILayerZStd))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	ref := reg.Host + "/gc/zstd:1"
	testutil.PushImage(t, reg, "gc/zstd:1", img)
	timeBin := testutil.RequireTool(t, "time", "time")
	e := newEnv(t)
	const maxGCs, maxRSS = 8, 64 << 20
	for _, step := range []string{"pull+unpack", "unpack stored"} {
		t.Run(step, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "rootfs")
			gcs, rss := e.gcAndRSS(t, timeBin, "unpack", "-q", ref, dir)
			t.Logf("%s: %d GCs, peak RSS %d MiB", step, gcs, rss>>20)
			if gcs > maxGCs {
				t.Errorf("%d garbage collections for 64 MiB of zstd layers, want at most %d", gcs, maxGCs)
			}
			if rss >= maxRSS {
				t.Errorf("peak RSS %d MiB, want under %d MiB", rss>>20, maxRSS>>20)
			}
		})
	}
}

// gcAndRSS runs the binary under GNU time with GODEBUG=gctrace=1 and
// returns its number of garbage collections and its peak RSS in bytes.
// (The rusage of a child this test process starts directly would report
// this process's own peak: the child shares its memory until exec.)
func (e *env) gcAndRSS(t *testing.T, timeBin string, args ...string) (int, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "rss")
	full := append([]string{"-f", "%M", "-o", out, binPath, "--root", e.root, "--config", e.config}, args...)
	cmd := exec.CommandContext(ctx, timeBin, full...)
	cmd.Env = append(os.Environ(), "CI=true", "GODEBUG=gctrace=1", "GOMEMLIMIT=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	kib, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("GNU time wrote %q: %v", b, err)
	}
	return strings.Count("\n"+stderr.String(), "\ngc "), kib << 10
}
