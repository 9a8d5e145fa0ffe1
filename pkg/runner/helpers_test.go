package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

func TestMain(m *testing.M) {
	Init()
	os.Exit(m.Run())
}

// busybox extracts the busybox test image (testutil.Busybox) with GNU tar
// into a temp dir and returns the rootfs and the image config.
func busybox(t testing.TB) (string, ocispec.ImageConfig) {
	t.Helper()
	return extract(t, testutil.Busybox)
}

// alpine extracts the Alpine test image (testutil.Alpine).
func alpine(t testing.TB) string {
	t.Helper()
	root, _ := extract(t, testutil.Alpine)
	return root
}

// extract unpacks a one-layer test image with GNU tar.
func extract(t testing.TB, name string) (string, ocispec.ImageConfig) {
	t.Helper()
	dir := testutil.ImageLayout(t, name)
	var idx ocispec.Index
	readJSON(t, filepath.Join(dir, "index.json"), &idx)
	var man ocispec.Manifest
	readJSON(t, blob(dir, idx.Manifests[0].Digest.Encoded()), &man)
	var img ocispec.Image
	readJSON(t, blob(dir, man.Config.Digest.Encoded()), &img)
	if len(man.Layers) != 1 {
		t.Fatalf("%s: want 1 layer, have %d", name, len(man.Layers))
	}
	root := filepath.Join(t.TempDir(), "rootfs")
	untar(t, blob(dir, man.Layers[0].Digest.Encoded()), root)
	return root, img.Config
}

func blob(dir, hex string) string { return filepath.Join(dir, "blobs", "sha256", hex) }

func readJSON(t testing.TB, p string, v any) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

func untar(t testing.TB, tarball, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tar", "-xzf", tarball, "-C", dst, "--numeric-owner").CombinedOutput()
	if err != nil {
		t.Fatalf("tar -xzf %s: %v\n%s", tarball, err, out)
	}
}

var idSeq atomic.Int64

func testID(t testing.TB) string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return strings.ToLower(name) + "-" + string(rune('a'+idSeq.Add(1)%26))
}

// result is one container run.
type result struct {
	code           int
	err            error
	stdout, stderr string
}

func runSpec(t testing.TB, id string, s *specs.Spec, rootMounts []specs.Mount, stdin string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code, err := Run(context.Background(), Config{ID: id, Spec: s, RootMounts: rootMounts, StateDir: t.TempDir()},
		Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return result{code, err, out.String(), errb.String()}
}

// build builds a spec from the busybox image config and opts.
func build(t testing.TB, root string, img ocispec.ImageConfig, opts rspec.Options) *specs.Spec {
	t.Helper()
	s, err := rspec.Build(img, root, opts)
	if err != nil {
		t.Fatalf("spec.Build: %v", err)
	}
	return s
}

func sh(script string) rspec.Options { return rspec.Options{Args: []string{"sh", "-c", script}} }

// ptyLines reads the terminal's master side line by line (without the
// \r the line discipline adds) until it is closed.
func ptyLines(master io.Reader) <-chan string {
	lines := make(chan string, 32)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(lines)
	}()
	return lines
}
