package main

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// e2eInput is one malicious image or registry that is no breakout: it
// must make the command fail fast, with one line naming the problem, or
// (check) be shown harmlessly.
type e2eInput struct {
	name   string
	image  func(t *testing.T, base v1.Image) v1.Image
	faults []testutil.Fault               // served by a fault proxy in front of the registry
	args   func(ref, dir string) []string // the command; the image is pulled first unless it starts with "pull"
	msg    []string                       // the one-line error names one of these; nil: the command succeeds
	check  func(t *testing.T, e *env, r binResult, dir string)
}

// zstdWindowFrame is a zstd frame asking for a 512 MiB window (exponent
// 19: windowLog 29), with one raw block.
func zstdWindowFrame() []byte {
	return []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 19 << 3, 3<<3 | 1, 0, 0, 't', 'a', 'r'}
}

func inputCases() []e2eInput {
	layer := func(es ...testutil.Entry) func(*testing.T, v1.Image) v1.Image {
		return func(t *testing.T, base v1.Image) v1.Image { return withLayers(t, base, testutil.Layer(t, es)) }
	}
	emptyDir := func(t *testing.T, _ *env, _ binResult, dir string) {
		t.Helper()
		if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
			t.Errorf("partial tree left in %s: %d entries", dir, len(ents))
		}
	}
	return []e2eInput{
		{name: "FIFO /etc/passwd, run", image: layer(testutil.Entry{Type: tar.TypeFifo, Name: "etc/passwd", Mode: 0o644}),
			args: func(ref, _ string) []string { return []string{"run", "--rm", ref, "true"} }, msg: []string{"not a regular file"}},
		{name: "FIFO /etc/group, bundle", image: layer(testutil.Entry{Type: tar.TypeFifo, Name: "etc/group", Mode: 0o644}),
			args: func(ref, dir string) []string { return []string{"bundle", "-u", "root", ref, dir} }, msg: []string{"not a regular file"}},
		{name: "zstd frame with a 512 MiB window", image: func(t *testing.T, base v1.Image) v1.Image {
			img, err := mutate.AppendLayers(base, static.NewLayer(zstdWindowFrame(), types.OCILayerZStd))
			if err != nil {
				t.Fatal(err)
			}
			return img
		}, args: func(ref, dir string) []string { return []string{"unpack", ref, dir} }, msg: []string{"64 MiB"}, check: emptyDir},
		{name: "gzip bomb over --max-uncompressed", image: layer(testutil.Entry{Name: "zeros", Content: make([]byte, 64<<20)}),
			args: func(ref, dir string) []string { return []string{"unpack", "--max-uncompressed", "16MiB", ref, dir} },
			msg:  []string{"uncompress to more than"}, check: emptyDir},
		{name: "more layers than overlayfs stacks", image: func(t *testing.T, base v1.Image) v1.Image {
			tiny := withLayers(t, base, testutil.Layer(t, []testutil.Entry{testutil.File("x", "x")}))
			ls, _ := tiny.Layers()
			extra := make([]v1.Layer, 500)
			for i := range extra {
				extra[i] = ls[len(ls)-1]
			}
			img, err := mutate.AppendLayers(base, extra...)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}, args: func(ref, _ string) []string { return []string{"pull", ref} }, msg: []string{"at most 500"},
			check: func(t *testing.T, e *env, _ binResult, _ string) {
				if out := e.must("images", "-q"); strings.TrimSpace(out) != "" {
					t.Errorf("images after the refused pull: %s", out)
				}
			}},
		{name: "registry trickles blob bytes: minimum rate", image: layer(testutil.File("f", "x")),
			faults: []testutil.Fault{{Kind: testutil.FaultTrickle, Method: "GET", Path: "/blobs/", After: 100, Duration: 200 * time.Millisecond}},
			args:   func(ref, _ string) []string { return []string{"pull", "--min-rate-interval", "2s", ref} }, msg: []string{"download too slow"},
			check: gcDoesNotWait},
		{name: "registry trickles blob bytes: --timeout", image: layer(testutil.File("f", "x")),
			faults: []testutil.Fault{{Kind: testutil.FaultTrickle, Method: "GET", Path: "/blobs/", After: 100, Duration: 200 * time.Millisecond}},
			args:   func(ref, _ string) []string { return []string{"pull", "--timeout", "3s", ref} }, msg: []string{"--timeout"},
			check: gcDoesNotWait},
		{name: "escape sequences and newlines in file names", image: layer(testutil.File("evil\x1b]0;pwned\x07\n-rw-r--r--  0:0  1  x  1  /fake", "x")),
			args: func(ref, _ string) []string { return []string{"inspect", "files", ref} },
			check: func(t *testing.T, _ *env, r binResult, _ string) {
				if strings.ContainsAny(r.out, "\x1b\x07") || strings.Contains(r.out, "\n-rw-r--r--  0:0  1  x") {
					t.Errorf("raw name in the table: %q", r.out)
				}
				if !strings.Contains(r.out, `evil\x1b]0;pwned\x07\n-rw-r--r--`) {
					t.Errorf("escaped name missing: %s", r.out)
				}
			}},
	}
}

// gcDoesNotWait checks a gc right after the failed pull finds no lease.
func gcDoesNotWait(t *testing.T, e *env, _ binResult, _ string) {
	t.Helper()
	if r := e.runBin(30*time.Second, "gc"); r.code != 0 || r.hung {
		t.Errorf("gc after the failed pull: %s", r.result)
	}
}

// TestMaliciousInputsEndToEnd pushes one image per case (busybox below)
// to a real registry and runs the case's command with the real binary: a
// clear one-line error, fast, and nothing left behind.
func TestMaliciousInputsEndToEnd(t *testing.T) {
	testutil.RequireRoot(t)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	base := testutil.Image(t, testutil.Busybox)
	cases := inputCases()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := fmt.Sprintf("malicious/input%d:1", i)
			testutil.PushImage(t, reg, repo, c.image(t, base))
			host := reg.Host
			if c.faults != nil {
				p := testutil.StartFaultProxy(t, reg)
				for _, f := range c.faults {
					p.Add(f)
				}
				host = p.Host
			}
			ref := host + "/" + repo
			e := newEnv(t)
			dir := filepath.Join(t.TempDir(), "target")
			args := c.args(ref, dir)
			if args[0] != "pull" {
				if r := e.runBin(2*time.Minute, "pull", "-q", ref); r.code != 0 {
					t.Fatalf("pull: %s", r.result)
				}
			}
			start := time.Now()
			r := e.runBin(time.Minute, args...)
			took := time.Since(start)
			t.Logf("%s: exit %d in %s: %s", args[0], r.code, took.Round(time.Millisecond), strings.TrimSpace(r.err))
			// Failing fast is the point: a 3 s --timeout or a 2 s rate window
			// that ends the command only after tens of seconds is a bug.
			if c.msg != nil && took > 20*time.Second {
				t.Errorf("%s took %s to fail, want well under 20 s", args[0], took.Round(time.Second))
			}
			if r.hung || strings.Contains(r.err, "panic") {
				t.Fatalf("%s hung or crashed: %s", args[0], r.result)
			}
			switch {
			case c.msg == nil && r.code != 0:
				t.Errorf("%s failed: %s", args[0], r.result)
			case c.msg != nil && r.code == 0:
				t.Errorf("%s succeeded: %s", args[0], r.result)
			case c.msg != nil && args[0] == "run":
				// run may print notices first (no overlayfs here...).
				oneLineError(t, result{err: lastLine(r.err)}, c.msg...)
			case c.msg != nil:
				oneLineError(t, r.result, c.msg...)
			}
			if c.check != nil {
				c.check(t, e, r, dir)
			}
			e.fsckClean()
		})
	}
	t.Logf("malicious inputs: %d cases", len(cases))
}
