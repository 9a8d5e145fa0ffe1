package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// staticBusybox is Debian's busybox-static (make deps installs it).
const staticBusybox = "/bin/busybox"

// shellImage is a linux/arch image whose first layer is this machine's
// static busybox as /bin/sh, ls and cat, with more layers on top. Its
// config says arch whatever this machine is: an "arm64" image of it still
// runs here, which lets a test tell the platforms apart by their files.
func shellImage(t *testing.T, arch string, layers ...[]testutil.Entry) v1.Image {
	t.Helper()
	bb, err := os.ReadFile(staticBusybox)
	if err != nil {
		testutil.Skipf(t, "%s (apt-get install busybox-static): %v", staticBusybox, err)
	}
	base := []testutil.Entry{testutil.Dir("bin"), {Name: "bin/busybox", Mode: 0o755, Content: bb}}
	for _, n := range []string{"sh", "ls", "cat"} {
		base = append(base, testutil.Symlink("bin/"+n, "busybox"))
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, entries := range append([][]testutil.Entry{base}, layers...) {
		b := testutil.Layer(t, entries)
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
			tarball.WithMediaType(types.OCILayer))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Cmd = []string{"/bin/sh"}
	cf.Config.Env = []string{"PATH=/bin"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// pushTwoPlatforms pushes an amd64 + arm64 index whose images hold
// /etc/arch naming their platform; it returns the reference and the
// index digest.
func pushTwoPlatforms(t *testing.T, reg *testutil.Registry, repoTag string) (string, string) {
	t.Helper()
	arch := func(a string) v1.Image {
		return shellImage(t, a, []testutil.Entry{testutil.Dir("etc"), testutil.File("etc/arch", a+"\n")})
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx,
		mutate.IndexAddendum{Add: arch("amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arch("arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	testutil.PushIndex(t, reg, repoTag, idx)
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return reg.Host + "/" + repoTag, d.String()
}

// imagesEntry is the `images --json` row named name.
func (e *env) imagesEntry(name string) image.Summary {
	e.t.Helper()
	var list []image.Summary
	if err := json.Unmarshal([]byte(e.must("images", "--json")), &list); err != nil {
		e.t.Fatal(err)
	}
	for _, s := range list {
		if s.Name == name {
			return s
		}
	}
	e.t.Fatalf("images --json has no %s: %+v", name, list)
	return image.Summary{}
}

// exportChecked exports ref in format, checks the archive with skopeo and
// podman, and returns its path.
func (e *env) exportChecked(format string, args ...string) string {
	e.t.Helper()
	out := filepath.Join(e.t.TempDir(), "export."+format+".tar")
	e.must(append(append([]string{"export", "--format", format}, args...), out)...)
	transport := map[string]string{"docker": "docker-archive", "oci": "oci-archive"}[format]
	testutil.SkopeoInspect(e.t, transport, out, "")
	testutil.PodmanLoad(e.t, out)
	return out
}

// oneLineErr fails the test unless r failed with a one-line error holding
// every want.
func oneLineErr(t *testing.T, r result, want ...string) {
	t.Helper()
	msg := strings.TrimSpace(r.err)
	ok := r.code != 0 && !strings.Contains(msg, "\n")
	for _, w := range want {
		ok = ok && strings.Contains(msg, w)
	}
	if !ok {
		t.Errorf("want a one-line error with %q: %s", want, r)
	}
}

// TestForeignPlatformOfAnIndex: `pull --platform linux/arm64` of a
// two-platform index on an amd64 machine, then every command that reads
// the stored image.
func TestForeignPlatformOfAnIndex(t *testing.T) {
	testutil.RequireRoot(t)
	if image.HostPlatform().String() != "linux/amd64" {
		t.Skip("the test's foreign platform is linux/arm64: it runs on linux/amd64")
	}
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	ref, idxDigest := pushTwoPlatforms(t, reg, "multi:1")
	e := newEnv(t)
	out := e.must("pull", "--platform", "linux/arm64", ref)
	if ll := lastLine(out); ll != ref+": "+idxDigest {
		t.Errorf("pull's last line %q, want %q", ll, ref+": "+idxDigest)
	}
	s := e.imagesEntry(ref)
	if s.Digest.String() != idxDigest || strings.Join(s.Platforms, ",") != "linux/arm64" || s.Size < 1<<20 {
		t.Errorf("images: %+v, want the index digest, linux/arm64 and the busybox layer's size", s)
	}
	// --platform picks the stored platform, without the registry.
	offline := "127.0.0.1:1/multi:1" // nothing listens there
	e.must("tag", ref, offline)
	dir := filepath.Join(t.TempDir(), "rootfs")
	e.must("unpack", "--platform", "linux/arm64", offline, dir)
	if b, err := os.ReadFile(filepath.Join(dir, "etc/arch")); err != nil || string(b) != "arm64\n" {
		t.Errorf("unpack --platform linux/arm64: etc/arch = %q, %v", b, err)
	}
	if out := e.must("inspect", "config", "--platform", "linux/arm64", offline); configArch(t, out) != "arm64" {
		t.Errorf("inspect config --platform linux/arm64:\n%s", out)
	}
	// This machine's platform is not stored: the registry is asked, and
	// when it cannot be, the error says what is stored and how to get it.
	for _, args := range [][]string{
		{"inspect", "config", offline},
		{"unpack", offline, filepath.Join(t.TempDir(), "x")},
		{"export", offline, filepath.Join(t.TempDir(), "x.tar")},
		{"export", "--format", "oci", "--platform", "linux/amd64", offline, filepath.Join(t.TempDir(), "x.tar")},
		{"run", "--rm", offline, "true"},
	} {
		oneLineErr(t, e.ctl(args...), "linux/amd64 is not stored", "only linux/arm64", "pull --platform linux/amd64")
	}
	if out := e.must("inspect", "config", ref); configArch(t, out) != "amd64" {
		t.Errorf("inspect config reads this machine's platform from the registry:\n%s", out)
	}
	// The oci export holds the stored platform only; docker's is chosen.
	e.exportChecked("oci", ref)
	e.exportChecked("docker", "--platform", "linux/arm64", ref)
	// run pulls this machine's platform, which then is stored too.
	if r := e.ctl("run", "--rm", ref, "cat", "/etc/arch"); r.code != 0 || r.out != "amd64\n" {
		t.Fatalf("run: %s", r)
	}
	r := e.ctl("run", "--rm", "--platform", "linux/arm64", ref, "cat", "/etc/arch")
	if r.code != 0 || r.out != "arm64\n" || !strings.Contains(r.err, "linux/arm64 image and this machine is linux/amd64") {
		t.Errorf("run --platform linux/arm64 (its busybox is amd64's, so it runs): %s", r)
	}
	s = e.imagesEntry(ref)
	sort.Strings(s.Platforms)
	if s.Digest.String() != idxDigest || strings.Join(s.Platforms, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("images after both platforms: %+v", s)
	}
	if ll := lastLine(e.must("pull", ref)); ll != ref+": "+idxDigest {
		t.Errorf("pull's last line %q, want the index digest", ll)
	}
	e.exportChecked("oci", ref)
	e.exportChecked("docker", ref)
	e.fsckClean()
}

// TestPullSinglePlatformOfAnotherPlatform: docker warns and pulls; so do we.
func TestPullSinglePlatformOfAnotherPlatform(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	testutil.PushImage(t, reg, "amd:1", shellImage(t, "amd64"))
	ref := reg.Host + "/amd:1"
	e := newEnv(t)
	r := e.ctl("pull", "--platform", "linux/arm64", ref)
	if r.code != 0 || !strings.Contains(r.err, "warning: "+ref+" is a single-platform linux/amd64 image, not linux/arm64") {
		t.Errorf("pull --platform linux/arm64 of an amd64 image: %s", r)
	}
	if r := e.ctl("pull", "--platform", "linux/amd64", ref); r.code != 0 || strings.Contains(r.err, "warning") {
		t.Errorf("pull of the image's own platform: %s", r)
	}
}

// TestWhiteoutAndRecreateInOneLayer: `RUN rm -rf /test && mkdir /test &&
// echo hi >/test/hello2.txt` makes a layer with .wh.test, test/ and
// test/hello2.txt; run and unpack must both see hello2.txt alone.
func TestWhiteoutAndRecreateInOneLayer(t *testing.T) {
	testutil.RequireRoot(t)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	img := shellImage(t, "amd64",
		[]testutil.Entry{testutil.Dir("test"), testutil.File("test/hello.txt", "old\n"), testutil.Dir("test/sub"), testutil.File("test/sub/x", "x")},
		[]testutil.Entry{testutil.File(".wh.test", ""), testutil.Dir("test"), testutil.File("test/hello2.txt", "hi\n")},
	)
	testutil.PushImage(t, reg, "rmrf:1", img)
	ref := reg.Host + "/rmrf:1"
	e := newEnv(t)
	if r := e.ctl("run", "--rm", ref, "ls", "-A", "/test"); r.code != 0 || r.out != "hello2.txt\n" {
		t.Errorf("run ls -A /test: %s", r)
	}
	dir := filepath.Join(t.TempDir(), "rootfs")
	e.must("unpack", ref, dir)
	ents, err := os.ReadDir(filepath.Join(dir, "test"))
	if err != nil || len(ents) != 1 || ents[0].Name() != "hello2.txt" {
		t.Errorf("unpack: test/ holds %v (%v), want hello2.txt only", ents, err)
	}
	e.fsckClean()
}

// configArch is the architecture of the image config `inspect config` printed.
func configArch(t *testing.T, out string) string {
	t.Helper()
	var c struct {
		Architecture string `json:"architecture"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("inspect config printed no JSON: %v\n%s", err, out)
	}
	return c.Architecture
}
