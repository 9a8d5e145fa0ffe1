package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// startServe runs `ctr-lite serve` on a free loopback port over e's store
// and returns its host:port.
func (e *env) startServe() string {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := e.bin(ctx, "serve", "--addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		e.t.Fatalf("serve printed nothing: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	_, url, ok := strings.Cut(strings.TrimSpace(line), " on http://")
	if !ok {
		e.t.Fatalf("serve said %q", line)
	}
	return url
}

// mirrorConfig writes hosts.toml for upstream listing mirror first.
func mirrorConfig(t *testing.T, upstream, mirror string) string {
	t.Helper()
	dir := t.TempDir()
	d := filepath.Join(dir, "certs.d", upstream)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	toml := fmt.Sprintf("server = \"http://%s\"\n\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", upstream, mirror)
	if err := os.WriteFile(filepath.Join(d, "hosts.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestServeToSkopeo(t *testing.T) {
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	a := newEnv(t)
	a.must("pull", refs["debian"])
	a.must("pull", refs["busybox"])
	addr := a.startServe()
	for _, name := range []string{"debian", "busybox"} {
		repoTag := refs[name][strings.Index(refs[name], "/")+1:]
		if got, want := skopeoRaw(t, "docker://"+addr+"/"+repoTag), skopeoRaw(t, "docker://"+refs[name]); got != want {
			t.Errorf("serve %s: manifest %s, registry has %s", name, got, want)
		}
	}
	dir := filepath.Join(t.TempDir(), "layout")
	repoTag := refs["debian"][strings.Index(refs["debian"], "/")+1:]
	if out, err := skopeoCmd("copy", "--src-tls-verify=false", "docker://"+addr+"/"+repoTag, "oci:"+dir+":x").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy from serve: %v\n%s", err, out)
	}
	if got, want := skopeoRaw(t, "oci:"+dir+":x"), skopeoRaw(t, "docker://"+refs["debian"]); got != want {
		t.Errorf("skopeo copy from serve: manifest %s, want %s", got, want)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, "http://"+addr+"/v2/"+strings.Replace(repoTag, ":", "/manifests/", 1), strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s to serve: %d, want 405", m, resp.StatusCode)
		}
	}
}

// TestPeerMirror: node B lists node A's serve as a mirror of the upstream
// registry; what A holds never comes from upstream, what it lacks (or holds
// damaged) does.
func TestPeerMirror(t *testing.T) {
	reg, _ := corpusRegistry(t, testutil.RegistryOptions{})
	up := testutil.StartFaultProxy(t, reg)
	debian := up.Host + "/debian:bookworm-2layer"
	alpine := up.Host + "/alpine:3.20"
	a := newEnv(t)
	a.must("pull", debian)
	addr := a.startServe()

	up.ResetLog()
	b := newEnv(t)
	b.config = mirrorConfig(t, up.Host, addr)
	b.must("pull", debian)
	b.must("pull", alpine)
	debianGets, alpineGets := 0, 0
	for _, r := range up.Log() {
		if r.Method == http.MethodGet && strings.Contains(r.Path, "/blobs/") {
			switch {
			case strings.HasPrefix(r.Path, "/v2/debian/"):
				debianGets++
			case strings.HasPrefix(r.Path, "/v2/alpine/"):
				alpineGets++
			}
		}
	}
	if debianGets != 0 {
		t.Errorf("upstream served %d debian blobs that the peer had", debianGets)
	}
	if alpineGets == 0 {
		t.Errorf("alpine, which the peer lacks, did not come from upstream")
	}
	b.fsckClean()

	// A damaged blob on A is not served: C gets it from upstream.
	big := bigLayer(t)
	p := filepath.Join(a.root, "content", "blobs", "sha256", strings.TrimPrefix(big, "sha256:"))
	blob, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	blob[1000] ^= 0xff
	if err := os.WriteFile(p, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	up.ResetLog()
	c := newEnv(t)
	c.config = b.config
	c.must("pull", debian)
	if n := len(up.BlobGets(big)); n != 1 {
		t.Errorf("upstream served the damaged layer %d times, want 1", n)
	}
	c.fsckClean()
}
