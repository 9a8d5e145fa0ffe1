package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
)

// corpusRegistry starts a real registry holding the test images (the
// corpus's real ones when CTRLITE_CORPUS is set, else built ones: see
// testutil.Image) and returns it with their references.
func corpusRegistry(t *testing.T, opts testutil.RegistryOptions) (*testutil.Registry, map[string]string) {
	t.Helper()
	reg := testutil.StartRegistry(t, opts)
	refs := map[string]string{
		"busybox": reg.Host + "/library/busybox:1.38.0-musl",
		"debian":  reg.Host + "/debian:bookworm-2layer",
		"alpine":  reg.Host + "/alpine:3.20",
	}
	testutil.PushLayout(t, reg, testutil.ImageLayout(t, testutil.Busybox), "library/busybox:1.38.0-musl")
	testutil.PushLayout(t, reg, testutil.ImageLayout(t, testutil.Debian), "debian:bookworm-2layer")
	testutil.PushLayout(t, reg, testutil.ImageLayout(t, testutil.Alpine), "alpine:3.20")
	return reg, refs
}

// lastLine is the final non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// fsckClean runs `ctr-lite fsck` and fails the test on any problem: the
// store must never hold a blob whose bytes do not match its digest.
func (e *env) fsckClean() {
	e.t.Helper()
	r := e.ctl("fsck")
	if r.code != 0 || !strings.Contains(r.out, "no problems found") {
		e.t.Errorf("fsck: %s", r)
	}
}

func TestPullCorpusFromRealRegistry(t *testing.T) {
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	e := newEnv(t)
	for _, name := range []string{"busybox", "debian", "alpine"} {
		ref := refs[name]
		out := e.must("pull", ref)
		if ll := lastLine(out); !strings.HasPrefix(ll, ref+": sha256:") {
			t.Errorf("pull %s: last line %q, want <reference>: <digest>", name, ll)
		}
		if !strings.Contains(out, "layer 1/") {
			t.Errorf("pull %s printed no per-layer lines:\n%s", name, out)
		}
		again := e.must("pull", ref)
		if !strings.Contains(again, "up to date") {
			t.Errorf("second pull of %s did not say up to date:\n%s", name, again)
		}
		q := e.must("pull", "-q", ref)
		if !strings.HasPrefix(strings.TrimSpace(q), "sha256:") || strings.Count(strings.TrimSpace(q), "\n") != 0 {
			t.Errorf("pull -q printed %q, want only the digest", q)
		}
	}
	var list []image.Summary
	if err := json.Unmarshal([]byte(e.must("images", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("images --json lists %d images, want 3: %+v", len(list), list)
	}
	table := e.must("images")
	if !strings.Contains(table, "REPOSITORY") || !strings.Contains(table, "bookworm-2layer") {
		t.Errorf("images table:\n%s", table)
	}
	e.fsckClean()
	// Other tools read the store as the OCI layout it is.
	if _, err := exec.LookPath("skopeo"); err == nil {
		out, err := exec.Command("skopeo", "inspect", "--raw", "oci:"+filepath.Join(e.root, "content")+":"+"docker.io/library/never").CombinedOutput()
		if err == nil {
			t.Errorf("skopeo found an image that is not there: %s", out)
		}
		name := refs["debian"]
		out, err = exec.Command("skopeo", "inspect", "oci:"+filepath.Join(e.root, "content")+":"+name).CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"Layers"`) {
			t.Errorf("skopeo cannot read the store: %v\n%s", err, out)
		}
	}
	// tag, rmi and gc.
	e.must("tag", refs["alpine"], "localhost/mine:1")
	if out := e.must("images", "-q"); !strings.Contains(out, "localhost/mine:1") {
		t.Errorf("tag did not add a name:\n%s", out)
	}
	e.must("rmi", refs["debian"])
	out := e.must("gc")
	if !strings.Contains(out, "deleted 4 blobs") { // manifest, config, two layers
		t.Errorf("gc after rmi debian:\n%s", out)
	}
	e.fsckClean()
	if out := e.must("gc", "--dry-run"); !strings.Contains(out, "would delete 0 blobs") {
		t.Errorf("second gc still finds garbage:\n%s", out)
	}
}

func TestPullWithAuthOverTLS(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{TLS: true, Htpasswd: true})
	testutil.PushLayout(t, reg, testutil.ImageLayout(t, testutil.Busybox), "sec/busybox:1")
	e := newEnv(t)
	e.config = reg.ConfigDir(t) // trusts the test CA through hosts.toml `ca`
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(t.TempDir(), "auth.json"))
	ref := reg.Host + "/sec/busybox:1"

	r := e.ctl("pull", ref)
	if r.code == 0 || !strings.Contains(strings.ToLower(r.err), "unauthorized") {
		t.Fatalf("pull without credentials: %s", r)
	}
	r = e.ctlIn("wrong\n", "login", "-u", reg.User, "--password-stdin", reg.Host)
	if r.code == 0 || !strings.Contains(strings.ToLower(r.err), "unauthorized") {
		t.Fatalf("login with a wrong password: %s", r)
	}
	r = e.ctlIn(reg.Password+"\n", "login", "-u", reg.User, "--password-stdin", reg.Host)
	if r.code != 0 || !strings.Contains(r.out, "Login Succeeded") {
		t.Fatalf("login: %s", r)
	}
	cfg, err := os.ReadFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"))
	if err != nil || !strings.Contains(string(cfg), reg.Host) {
		t.Fatalf("config.json after login: %v %s", err, cfg)
	}
	e.must("pull", ref)
	e.must("logout", reg.Host)
	if r := e.ctl("pull", reg.Host+"/sec/other:1"); r.code == 0 {
		t.Fatalf("pull after logout succeeded: %s", r)
	}
}

// blobSize is the size of a Debian image blob.
func blobSize(t *testing.T, d string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(testutil.ImageLayout(t, testutil.Debian), "blobs", "sha256", strings.TrimPrefix(d, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// bigLayer is the Debian image's first layer (49 MB in the corpus, 40 MB
// built).
func bigLayer(t *testing.T) string {
	t.Helper()
	img := testutil.Image(t, testutil.Debian)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	d, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestPullThroughFaults(t *testing.T) {
	reg, _ := corpusRegistry(t, testutil.RegistryOptions{})
	big := bigLayer(t)
	tests := []struct {
		name   string
		faults []testutil.Fault
		ok     bool
		either bool // success and a clear failure are both right
		msg    string
		check  func(t *testing.T, p *testutil.FaultProxy)
	}{
		{name: "5xx and 429 are retried", ok: true, faults: []testutil.Fault{
			{Kind: testutil.FaultStatus, Path: "/manifests/", Status: 500, Times: 2},
			{Kind: testutil.FaultStatus, Path: "/blobs/" + big, Status: 429, RetryAfter: "1", Times: 1},
			{Kind: testutil.FaultStatus, Path: "/blobs/", Status: 503, Times: 1},
		}},
		{name: "cut connection resumes with Range", ok: true, faults: []testutil.Fault{
			{Kind: testutil.FaultCut, Method: "GET", Path: "/blobs/" + big, After: 5 << 20, Times: 1},
		}, check: func(t *testing.T, p *testutil.FaultProxy) {
			gets := p.BlobGets(big)
			if len(gets) != 2 || gets[1].Range == "" || strings.HasPrefix(gets[1].Range, "bytes=0-") {
				t.Errorf("want a cut GET then one GET with a Range header; got %+v", gets)
			}
		}},
		{name: "registry ignoring Range restarts from zero", ok: true, faults: []testutil.Fault{
			{Kind: testutil.FaultCut, Method: "GET", Path: "/blobs/" + big, After: 3 << 20, Times: 1},
			{Kind: testutil.FaultIgnoreRange, Path: "/blobs/" + big},
		}},
		{name: "flipped byte is rejected", ok: false, msg: big, faults: []testutil.Fault{
			{Kind: testutil.FaultFlipByte, Method: "GET", Path: "/blobs/" + big, After: 1000},
		}},
		{name: "manifest naming a wrong layer digest", ok: false, msg: "digest", faults: []testutil.Fault{
			{Kind: testutil.FaultBadLayer, Method: "GET", Path: "/manifests/"},
		}},
		{name: "self-referencing index", ok: false, msg: "manifest", faults: []testutil.Fault{
			{Kind: testutil.FaultSelfIndex, Method: "GET", Path: "/manifests/"},
		}},
		{name: "huge Content-Length", either: true, faults: []testutil.Fault{
			{Kind: testutil.FaultHugeLen, Method: "GET", Path: "/blobs/" + big},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testutil.StartFaultProxy(t, reg)
			for _, f := range tt.faults {
				p.Add(f)
			}
			e := newEnv(t)
			done := make(chan result, 1)
			go func() { done <- e.ctl("pull", p.Host+"/debian:bookworm-2layer") }()
			var r result
			select {
			case r = <-done:
			case <-time.After(3 * time.Minute):
				t.Fatal("pull hung")
			}
			if !tt.either && tt.ok != (r.code == 0) {
				t.Fatalf("pull: %s", r)
			}
			if r.code != 0 {
				if !strings.Contains(r.err, tt.msg) || strings.Count(strings.TrimSpace(r.err), "\n") != 0 {
					t.Errorf("error should be one line containing %q: %q", tt.msg, r.err)
				}
				st, _ := content.Open(e.root)
				if names, _ := st.List(context.Background()); len(names) != 0 {
					t.Errorf("failed pull left names %v", names)
				}
			}
			e.fsckClean() // never a blob whose bytes do not match its digest
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestConcurrentPullsShareOneStore(t *testing.T) {
	reg, _ := corpusRegistry(t, testutil.RegistryOptions{})
	p := testutil.StartFaultProxy(t, reg)
	e := newEnv(t)
	// Eight processes, overlapping images: each blob must come over once.
	refs := []string{"debian:bookworm-2layer", "library/busybox:1.38.0-musl", "alpine:3.20", "debian:bookworm-2layer",
		"library/busybox:1.38.0-musl", "alpine:3.20", "debian:bookworm-2layer", "library/busybox:1.38.0-musl"}
	var wg sync.WaitGroup
	errs := make([]error, len(refs))
	outs := make([][]byte, len(refs))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i, r := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Different tags per process, so index.json sees 8 concurrent updates.
			outs[i], errs[i] = e.bin(ctx, "pull", p.Host+"/"+r).CombinedOutput()
			if errs[i] == nil {
				outs[i], errs[i] = e.bin(ctx, "tag", p.Host+"/"+r, fmt.Sprintf("localhost/copy:%d", i)).CombinedOutput()
			}
		}()
	}
	wg.Wait()
	for i := range refs {
		if errs[i] != nil {
			t.Errorf("process %d (%s): %v\n%s", i, refs[i], errs[i], outs[i])
		}
	}
	counts := map[string]int{}
	for _, req := range p.Log() {
		if req.Method == "GET" && strings.Contains(req.Path, "/blobs/") && (req.Status == 200 || req.Status == 206) {
			counts[req.Path[strings.LastIndex(req.Path, "/")+1:]]++
		}
	}
	if len(counts) != 7 { // config + layers: busybox 2, alpine 2, debian 3
		t.Errorf("distinct blobs fetched: %d, want 7", len(counts))
	}
	for d, n := range counts {
		if n != 1 {
			t.Errorf("blob %s fetched %d times, want once", d, n)
		}
	}
	out := e.must("images", "-q")
	for i := range refs {
		if !strings.Contains(out, fmt.Sprintf("localhost/copy:%d", i)) {
			t.Errorf("name localhost/copy:%d lost:\n%s", i, out)
		}
	}
	e.fsckClean()
}

func TestPullKilledMidwayResumes(t *testing.T) {
	reg, _ := corpusRegistry(t, testutil.RegistryOptions{})
	p := testutil.StartFaultProxy(t, reg)
	big := bigLayer(t)
	// The big layer stalls after 8 MiB, so the pull is surely mid-way when killed.
	p.Add(testutil.Fault{Kind: testutil.FaultStall, Method: "GET", Path: "/blobs/" + big, After: 8 << 20, Times: 1})
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := e.bin(ctx, "pull", p.Host+"/debian:bookworm-2layer")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(e.root, "ingest", strings.TrimPrefix(big, "sha256:"))
	deadline := time.Now().Add(time.Minute)
	for {
		if fi, err := os.Stat(partial); err == nil && fi.Size() >= 8<<20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the pull never got 8 MiB into the big layer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	e.fsckClean() // a partial download is fine, a bad blob is not
	p.Clear()
	p.ResetLog()
	out := e.must("pull", p.Host+"/debian:bookworm-2layer")
	if !strings.Contains(out, "resuming") {
		t.Errorf("second pull did not say it resumed:\n%s", out)
	}
	// The killed pull's stalled request is logged only when the proxy sees
	// the client gone, which may be after ResetLog: leave it out.
	var gets []testutil.Request
	for _, g := range p.BlobGets(big) {
		if g.Fault != testutil.FaultStall {
			gets = append(gets, g)
		}
	}
	if len(gets) != 1 || !strings.HasPrefix(gets[0].Range, "bytes=") || strings.HasPrefix(gets[0].Range, "bytes=0-") {
		t.Errorf("want one ranged GET of the big layer, got %+v", gets)
	}
	size := blobSize(t, big)
	if len(gets) == 1 && gets[0].Bytes > size-(8<<20) {
		t.Errorf("resumed GET served %d of %d bytes: more than the rest of the layer", gets[0].Bytes, size)
	}
	e.fsckClean()
}
