package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// skopeoRaw returns the sha256 of the manifest skopeo reads at loc
// (docker://..., oci:..., docker-archive:...), skipping without skopeo.
func skopeoRaw(t *testing.T, loc string, extra ...string) string {
	t.Helper()
	testutil.RequireTool(t, "skopeo", "skopeo")
	args := append([]string{"inspect", "--raw"}, extra...)
	if strings.HasPrefix(loc, "docker://") {
		args = append(args, "--tls-verify=false")
	}
	out, err := exec.Command("skopeo", append(args, loc)...).Output()
	if err != nil {
		t.Fatalf("skopeo inspect --raw %s: %v", loc, err)
	}
	sum := sha256.Sum256(out)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// uploads counts the blob upload requests in a proxy log by method.
func uploads(log []testutil.Request) map[string]int {
	n := map[string]int{}
	for _, r := range log {
		if strings.Contains(r.Path, "/blobs/uploads/") {
			n[r.Method]++
		}
	}
	return n
}

func TestPushThenPullBack(t *testing.T) {
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	dst := testutil.StartRegistry(t, testutil.RegistryOptions{})
	proxy := testutil.StartFaultProxy(t, dst)
	e := newEnv(t)
	for _, name := range []string{"debian", "busybox", "alpine"} {
		e.must("pull", refs[name])
		target := proxy.Host + "/pushed/" + name + ":1"
		out := e.must("push", refs[name], target)
		want := skopeoRaw(t, "docker://"+refs[name])
		if ll := lastLine(out); ll != target+": "+want {
			t.Errorf("push %s: last line %q, want %s: %s", name, ll, target, want)
		}
		if got := skopeoRaw(t, "docker://"+target); got != want {
			t.Errorf("pushed %s has manifest digest %s, source %s", name, got, want)
		}
		e2 := newEnv(t)
		if got := strings.TrimSpace(e2.must("pull", "-q", target)); got != want {
			t.Errorf("pull back %s: %s, want %s", name, got, want)
		}
	}
	// A second push finds every blob there (HEAD) and sends none.
	proxy.ResetLog()
	out := e.must("push", refs["debian"], proxy.Host+"/pushed/debian:2")
	if !strings.Contains(out, "sent 0 blobs") || !strings.Contains(out, "3 already there") {
		t.Errorf("second push sent blobs:\n%s", out)
	}
	if n := uploads(proxy.Log()); len(n) != 0 {
		t.Errorf("second push started uploads: %v", n)
	}
	heads := 0
	for _, r := range proxy.Log() {
		if r.Method == http.MethodHead && strings.Contains(r.Path, "/blobs/") {
			heads++
		}
	}
	if heads != 3 {
		t.Errorf("second push sent %d blob HEADs, want 3", heads)
	}
}

func TestPushResumesAfterDroppedConnection(t *testing.T) {
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	dst := testutil.StartRegistry(t, testutil.RegistryOptions{})
	proxy := testutil.StartFaultProxy(t, dst)
	e := newEnv(t)
	e.must("pull", refs["debian"])
	// One blob at a time: the config (one PATCH), then the 49 MB layer in
	// 16 MiB chunks; its second chunk is cut off.
	proxy.Add(testutil.Fault{Kind: testutil.FaultCutRequest, Method: http.MethodPatch, Path: "/blobs/uploads/", Skip: 2, Times: 1})
	target := proxy.Host + "/resumed/debian:1"
	e.must("push", "--max-concurrent-uploads", "1", refs["debian"], target)
	log := proxy.Log()
	n := uploads(log)
	if n[http.MethodPost] != 3 {
		t.Errorf("push started %d upload sessions, want 3 (one per blob, none restarted): %v", n[http.MethodPost], n)
	}
	cut, status := false, false
	for _, r := range log {
		if r.Fault == testutil.FaultCutRequest {
			cut = true
		}
		if r.Method == http.MethodGet && strings.Contains(r.Path, "/blobs/uploads/") && r.Status == http.StatusNoContent {
			status = true
		}
	}
	if !cut || !status {
		t.Errorf("want a cut PATCH (%v) and an upload status query (%v)", cut, status)
	}
	if got, want := skopeoRaw(t, "docker://"+target), skopeoRaw(t, "docker://"+refs["debian"]); got != want {
		t.Errorf("resumed push: manifest %s, want %s", got, want)
	}
	e2 := newEnv(t)
	e2.must("pull", target)
	e2.fsckClean()
}

func skopeoCmd(args ...string) *exec.Cmd { return exec.Command("skopeo", args...) }

// buildahImage builds a one-file image from scratch with buildah into an
// OCI layout, tagged "built", and returns the layout directory.
func buildahImage(t *testing.T) string {
	t.Helper()
	testutil.RequireTool(t, "buildah", "buildah")
	testutil.RequireRoot(t)
	d := t.TempDir()
	s := []string{"--root", d + "/root", "--runroot", d + "/run", "--storage-driver", "vfs"}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("buildah", append(append([]string{}, s...), args...)...)
		cmd.Env = append(os.Environ(), "BUILDAH_ISOLATION=chroot")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("buildah %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	if err := os.WriteFile(d+"/hello", []byte("built by buildah\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctr := run("from", "scratch")
	run("copy", ctr, d+"/hello", "/hello")
	run("config", "--cmd", "/hello", ctr)
	run("commit", "-q", ctr, "oci:"+d+"/layout:built")
	return d + "/layout"
}

func TestPushBuildahImage(t *testing.T) {
	layout := buildahImage(t)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	want := skopeoRaw(t, "oci:"+layout+":built")
	e := newEnv(t)
	if out := e.must("import", layout); !strings.Contains(out, want) {
		t.Fatalf("import of the buildah layout: %s", out)
	}
	e.must("push", "built", reg.Host+"/buildah/built:1")
	if got := skopeoRaw(t, "docker://"+reg.Host+"/buildah/built:1"); got != want {
		t.Errorf("pushed buildah image: %s, want %s", got, want)
	}
	e.must("copy", "oci:"+layout+":built", reg.Host+"/buildah/copied:1")
	if got := skopeoRaw(t, "docker://"+reg.Host+"/buildah/copied:1"); got != want {
		t.Errorf("copied buildah image: %s, want %s", got, want)
	}
}
