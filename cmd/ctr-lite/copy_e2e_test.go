package main

import (
	"os"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// TestCopyBetweenRegistries copies from a TLS registry with htpasswd to a
// plain one, each with its own credentials: the manifest digests are the
// source's, memory stays bounded, a copy within the destination mounts.
func TestCopyBetweenRegistries(t *testing.T) {
	src := testutil.StartRegistry(t, testutil.RegistryOptions{TLS: true, Htpasswd: true})
	testutil.PushLayout(t, src, testutil.ImageLayout(t, testutil.Debian), "sec/debian:1")
	dst := testutil.StartRegistry(t, testutil.RegistryOptions{})
	proxy := testutil.StartFaultProxy(t, dst)
	e := newEnv(t)
	e.config = src.ConfigDir(t)
	t.Setenv("DOCKER_CONFIG", src.DockerConfig(t))
	t.Setenv("REGISTRY_AUTH_FILE", t.TempDir()+"/auth.json")

	from := src.Host + "/sec/debian:1"
	to := proxy.Host + "/copied/debian:1"
	r := e.runBin(2*time.Minute, "copy", from, to)
	if r.code != 0 {
		t.Fatalf("copy: %s", r.result)
	}
	want := skopeoRaw(t, "docker://"+from, "--cert-dir", certDir(t, src), "--creds", src.User+":"+src.Password)
	if ll := lastLine(r.out); ll != to+": "+want {
		t.Errorf("copy printed %q, want %s: %s", ll, to, want)
	}
	if got := skopeoRaw(t, "docker://"+to); got != want {
		t.Errorf("copied manifest %s, source %s", got, want)
	}
	t.Logf("copy of a %d byte layer: peak RSS %d MiB", blobSize(t, bigLayer(t)), r.rss>>20)
	if r.rss > 40<<20 {
		// Memory that grows with the blob does so every time; a busy
		// machine's lagging garbage collector, once.
		again := e.runBin(2*time.Minute, "copy", from, proxy.Host+"/again/debian:1")
		t.Logf("peak RSS %d MiB; a second copy: %d MiB", r.rss>>20, again.rss>>20)
		if again.code != 0 || again.rss > 40<<20 {
			t.Errorf("copy peak RSS %d and %d MiB: memory grows with the blob", r.rss>>20, again.rss>>20)
		}
	}
	// Within one registry, blobs are mounted, not sent.
	proxy.ResetLog()
	out := e.must("copy", to, proxy.Host+"/other/debian:1")
	if !strings.Contains(out, "sent 0 blobs") || !strings.Contains(out, "3 mounted") {
		t.Errorf("copy within a registry did not mount:\n%s", out)
	}
	if n := uploads(proxy.Log()); n["PATCH"] != 0 {
		t.Errorf("copy within a registry sent blob data: %v", n)
	}
	// Wrong credentials for the destination name the registry and the scope.
	sec := src.Host + "/sec/debian:2"
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	r2 := e.ctl("copy", to, sec)
	if r2.code == 0 || !strings.Contains(r2.err, src.Host) || !strings.Contains(r2.err, "push") {
		t.Errorf("copy to a registry refusing us: %s", r2)
	}
}

// certDir makes a directory with the registry's CA for skopeo --cert-dir.
func certDir(t *testing.T, reg *testutil.Registry) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(reg.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/ca.crt", b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// twoPlatformIndex is an index of two random images, linux/amd64 and
// linux/arm64.
func twoPlatformIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(2048, 2)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return mutate.AppendManifests(empty.Index, adds...)
}

func TestCopyIndexAllPlatforms(t *testing.T) {
	src := testutil.StartRegistry(t, testutil.RegistryOptions{})
	idx := twoPlatformIndex(t)
	testutil.PushIndex(t, src, "multi:1", idx)
	e := newEnv(t)
	from := src.Host + "/multi:1"
	want := skopeoRaw(t, "docker://"+from)
	out := e.must("copy", from, src.Host+"/multi-copy:1")
	if !strings.Contains(out, "sent 0 blobs") || !strings.Contains(out, "6 mounted") {
		t.Errorf("copy of 2 platforms (6 blobs) within a registry:\n%s", out)
	}
	if got := skopeoRaw(t, "docker://"+src.Host+"/multi-copy:1"); got != want {
		t.Errorf("copied index %s, source %s", got, want)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		e2 := newEnv(t)
		e2.must("pull", "--platform", "linux/"+arch, src.Host+"/multi-copy:1")
	}
	// One platform only: the destination is that platform's manifest.
	e.must("copy", "--platform", "linux/arm64", from, src.Host+"/multi-arm:1")
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var arm string
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.Architecture == "arm64" {
			arm = m.Digest.String()
		}
	}
	if got := skopeoRaw(t, "docker://"+src.Host+"/multi-arm:1"); got != arm {
		t.Errorf("--platform linux/arm64 copied %s, want the arm64 manifest %s", got, arm)
	}
}

func TestTagRemote(t *testing.T) {
	reg, refs := corpusRegistry(t, testutil.RegistryOptions{})
	proxy := testutil.StartFaultProxy(t, reg)
	e := newEnv(t)
	src := proxy.Host + "/debian:bookworm-2layer"
	want := skopeoRaw(t, "docker://"+refs["debian"])
	out := e.must("tag", "--remote", src, "prod")
	if strings.TrimSpace(out) != proxy.Host+"/debian:prod: "+want {
		t.Errorf("tag --remote printed %q", out)
	}
	if got := skopeoRaw(t, "docker://"+reg.Host+"/debian:prod"); got != want {
		t.Errorf("retagged manifest %s, want %s", got, want)
	}
	for _, r := range proxy.Log() {
		if strings.Contains(r.Path, "/blobs/") {
			t.Errorf("tag --remote touched a blob: %s %s", r.Method, r.Path)
		}
	}
	if r := e.ctl("tag", "--remote", src, proxy.Host+"/elsewhere:1"); r.code == 0 || !strings.Contains(r.err, "use copy") {
		t.Errorf("tag --remote into another repository: %s", r)
	}
}

// TestCopyLayoutAndArchiveEnds moves an image registry -> oci:DIR:TAG ->
// registry and registry -> docker-archive:FILE -> registry, checked with
// skopeo: the manifest digest survives every leg.
func TestCopyLayoutAndArchiveEnds(t *testing.T) {
	reg, refs := corpusRegistry(t, testutil.RegistryOptions{})
	e := newEnv(t)
	from := refs["debian"]
	want := skopeoRaw(t, "docker://"+from)
	dir := t.TempDir() + "/layout"
	e.must("copy", from, "oci:"+dir+":bookworm")
	if got := skopeoRaw(t, "oci:"+dir+":bookworm"); got != want {
		t.Errorf("oci layout: manifest %s, want %s", got, want)
	}
	e.must("copy", refs["busybox"], "oci:"+dir+":busybox")
	e.must("copy", "oci:"+dir+":bookworm", reg.Host+"/from-layout:1")
	if got := skopeoRaw(t, "docker://"+reg.Host+"/from-layout:1"); got != want {
		t.Errorf("from oci layout: manifest %s, want %s", got, want)
	}
	if r := e.ctl("copy", "oci:"+dir, reg.Host+"/x:1"); r.code == 0 || !strings.Contains(r.err, "oci:DIR:TAG") {
		t.Errorf("copy from a layout of two images without a tag: %s", r)
	}

	file := t.TempDir() + "/debian.tar"
	e.must("copy", from, "docker-archive:"+file)
	if out, err := skopeoCmd("inspect", "docker-archive:"+file).CombinedOutput(); err != nil {
		t.Fatalf("skopeo inspect docker-archive: %v\n%s", err, out)
	}
	e.must("copy", "docker-archive:"+file, reg.Host+"/from-archive:1")
	if got := skopeoRaw(t, "docker://"+reg.Host+"/from-archive:1"); got != want {
		t.Errorf("from docker-archive: manifest %s, want %s", got, want)
	}
	// skopeo's own docker-archive is read too (its manifest is rebuilt).
	sk := t.TempDir() + "/skopeo.tar"
	if out, err := skopeoCmd("copy", "--src-tls-verify=false", "docker://"+from, "docker-archive:"+sk+":debian:sk").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy to docker-archive: %v\n%s", err, out)
	}
	e.must("copy", "docker-archive:"+sk, reg.Host+"/from-skopeo:1")
	e2 := newEnv(t)
	e2.must("pull", reg.Host+"/from-skopeo:1")
	e2.fsckClean()
}
