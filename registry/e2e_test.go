package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"github.com/ctrlite/ctr-lite/pkg/reference"
)

func parseRef(t testing.TB, s string) reference.Reference {
	t.Helper()
	r, err := reference.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pullAll resolves ref and fetches its config and layers, verifying each
// digest as the content store would; it returns the manifest.
func pullAll(t *testing.T, c *Client, ref reference.Reference) ocispec.Manifest {
	t.Helper()
	ctx := testCtx(t)
	desc, b, err := c.Resolve(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.MediaType == ocispec.MediaTypeImageIndex || desc.MediaType == mediatype.DockerManifestList {
		var idx ocispec.Index
		if err := json.Unmarshal(b, &idx); err != nil {
			t.Fatal(err)
		}
		b, err = c.FetchManifest(ctx, ref, idx.Manifests[0])
		if err != nil {
			t.Fatal(err)
		}
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		rc, start, err := c.Fetch(ctx, ref, d, 0)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil || start != 0 || n != d.Size || "sha256:"+hex.EncodeToString(h.Sum(nil)) != string(d.Digest) {
			t.Fatalf("blob %s: %d bytes from %d, err %v", d.Digest, n, start, err)
		}
	}
	return m
}

func TestE2EPlainHTTP(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	testutil.PushLayout(t, reg, testutil.ImageLayout(t, testutil.Busybox), "library/busybox:1.38.0-musl")
	testutil.PushImage(t, reg, "library/alpine:3.20", testutil.AlpineImage(t))
	c := testClient(t, Options{})
	for _, name := range []string{"library/busybox:1.38.0-musl", "library/alpine:3.20"} {
		t.Run(name, func(t *testing.T) {
			m := pullAll(t, c, parseRef(t, reg.Host+"/"+name))
			if len(m.Layers) != 1 {
				t.Fatalf("%d layers", len(m.Layers))
			}
		})
	}
	t.Run("index and manifest list", func(t *testing.T) {
		idx, err := random.Index(300, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		testutil.PushIndex(t, reg, "multi/oci:v1", idx)
		testutil.PushIndex(t, reg, "multi/docker:v1", mutate.IndexMediaType(idx, types.DockerManifestList))
		for repo, mt := range map[string]string{"multi/oci:v1": ocispec.MediaTypeImageIndex, "multi/docker:v1": mediatype.DockerManifestList} {
			desc, b, err := c.Resolve(testCtx(t), parseRef(t, reg.Host+"/"+repo))
			if err != nil {
				t.Fatal(err)
			}
			if desc.MediaType != mt || desc.Digest.String() != sha(b) {
				t.Fatalf("%s: descriptor %+v", repo, desc)
			}
			pullAll(t, c, parseRef(t, reg.Host+"/"+repo))
		}
	})
	t.Run("ranged fetch", func(t *testing.T) {
		img := testutil.AlpineImage(t)
		d := layerDesc(t, img, 0)
		full := layerBytes(t, img, 0)
		off := d.Size / 3
		rc, start, err := c.Fetch(testCtx(t), parseRef(t, reg.Host+"/library/alpine:3.20"), d, off)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || start != off || !bytes.Equal(b, full[off:]) {
			t.Fatalf("start %d (want %d), %d bytes, err %v", start, off, len(b), err)
		}
	})
	t.Run("unknown image", func(t *testing.T) {
		ref := parseRef(t, reg.Host+"/library/nothing:here")
		_, _, err := c.Resolve(testCtx(t), ref)
		if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), ref.String()) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestE2ETLSBasicAuth(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{TLS: true, Htpasswd: true})
	img := randomImage(t, 2, 5000)
	testutil.PushImage(t, reg, "secure/app:v1", img)
	ref := parseRef(t, reg.Host+"/secure/app:v1")
	cfgDir := reg.ConfigDir(t) // hosts.toml: server + ca

	t.Run("right credentials", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t))
		t.Setenv("REGISTRY_AUTH_FILE", "/nonexistent")
		c := testClient(t, Options{ConfigDir: cfgDir, Keychain: DefaultKeychain()})
		pullAll(t, c, ref)
	})
	for name, creds := range map[string][2]string{"wrong password": {reg.User, "wrong"}, "unknown user": {"mallory", reg.Password}, "no credentials": {}} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if creds[0] != "" {
				js := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.Host, b64(creds[0]+":"+creds[1]))
				os.WriteFile(filepath.Join(dir, "config.json"), []byte(js), 0o600)
			}
			t.Setenv("DOCKER_CONFIG", dir)
			t.Setenv("REGISTRY_AUTH_FILE", "/nonexistent")
			c := testClient(t, Options{ConfigDir: cfgDir, Keychain: DefaultKeychain()})
			_, _, err := c.Resolve(testCtx(t), ref)
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("got %v, want ErrUnauthorized", err)
			}
			msg := err.Error()
			t.Logf("message: %s", msg)
			if !strings.Contains(msg, ref.String()) || !strings.Contains(msg, "denied") || strings.Contains(msg, "\n") {
				t.Fatalf("unclear message %q", msg)
			}
		})
	}
	t.Run("untrusted CA", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t))
		c := testClient(t, Options{Retry: RetryPolicy{Attempts: 1}})
		_, _, err := c.Resolve(testCtx(t), ref)
		t.Logf("message: %v", err)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("got %v, want a certificate error", err)
		}
	})
	t.Run("skip_verify and --insecure-registry", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t))
		t.Setenv("REGISTRY_AUTH_FILE", "/nonexistent")
		skip := writeHosts(t, reg.Host, fmt.Sprintf("server = %q\nskip_verify = true\n", reg.URL))
		for _, opts := range []Options{{ConfigDir: skip}, {Insecure: []string{reg.Host}}} {
			opts.Keychain = DefaultKeychain()
			pullAll(t, testClient(t, opts), ref)
		}
	})
	t.Run("login", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("DOCKER_CONFIG", dir)
		opts := Options{ConfigDir: cfgDir, Retry: RetryPolicy{Attempts: 1}}
		if err := Login(testCtx(t), opts, reg.Host, reg.User, "bad"); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("bad login: %v", err)
		}
		if err := Login(testCtx(t), opts, reg.Host, reg.User, reg.Password); err != nil {
			t.Fatal(err)
		}
		pullAll(t, testClient(t, Options{ConfigDir: cfgDir, Keychain: DefaultKeychain()}), ref)
	})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// A fleet points at a pull-through cache through hosts.toml; mirrors are
// tried in order, a dead one skipped.
func TestE2EPullThroughMirror(t *testing.T) {
	up := testutil.StartRegistry(t, testutil.RegistryOptions{})
	img := randomImage(t, 2, 20000)
	testutil.PushImage(t, up, "team/app:v1", img)
	upLog := testutil.StartFaultProxy(t, up) // counts what reaches the upstream
	cache := testutil.StartRegistry(t, testutil.RegistryOptions{ProxyRemoteURL: upLog.URL})
	cacheLog := testutil.StartFaultProxy(t, cache)

	hosts := fmt.Sprintf("server = %q\n[host.\"http://127.0.0.1:1\"]\ncapabilities = [\"pull\", \"resolve\"]\n[host.%q]\ncapabilities = [\"pull\", \"resolve\"]\n",
		upLog.URL, cacheLog.URL)
	ref := parseRef(t, up.Host+"/team/app:v1")
	for round := 1; round <= 2; round++ {
		c := testClient(t, Options{ConfigDir: writeHosts(t, up.Host, hosts), Retry: RetryPolicy{Attempts: 1}, UserAgent: "ctr-lite-test"})
		upLog.ResetLog()
		cacheLog.ResetLog()
		m := pullAll(t, c, ref)
		for _, l := range m.Layers {
			if got := len(cacheLog.BlobGets(string(l.Digest))); got != 1 {
				t.Fatalf("round %d: layer %s fetched %d times through the cache", round, l.Digest, got)
			}
			// distribution's proxy mode may fetch a blob twice from its
			// remote on a miss; what matters is that it went through it.
			// The proxy logs a request once its body is sent, which can be
			// just after our client finished reading it.
			if round == 1 && !eventually(func() bool { return len(upLog.BlobGets(string(l.Digest))) > 0 }) {
				t.Fatalf("round 1: layer %s did not come through the cache from upstream", l.Digest)
			}
		}
		for _, r := range upLog.Log() {
			if strings.Contains(r.Agent, "ctr-lite-test") {
				t.Fatalf("round %d: the client went to the upstream itself: %+v", round, r)
			}
		}
	}
}

// faultCase drives one FaultProxy scenario.
func TestE2EFaultyRegistry(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	testutil.PushLayout(t, reg, testutil.ImageLayout(t, testutil.Busybox), "library/busybox:1")
	img := testutil.Image(t, testutil.Busybox)
	layer := layerDesc(t, img, 0)
	full := layerBytes(t, img, 0)
	blobPath := "/blobs/" + string(layer.Digest)

	fetchAll := func(c *Client, ref reference.Reference, d ocispec.Descriptor, off int64) ([]byte, int64, error) {
		rc, start, err := c.Fetch(testCtx(t), ref, d, off)
		if err != nil {
			return nil, 0, err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return b, start, err
	}

	t.Run("5xx and 429 retried", func(t *testing.T) {
		for _, f := range []testutil.Fault{
			{Kind: testutil.FaultStatus, Status: 500, Path: blobPath, Times: 2},
			{Kind: testutil.FaultStatus, Status: 503, Path: "/manifests/", Times: 2},
			{Kind: testutil.FaultStatus, Status: 429, RetryAfter: "1", Path: blobPath, Times: 1},
			{Kind: testutil.FaultCut, After: 100, Path: "/manifests/", Times: 2},
		} {
			p := testutil.StartFaultProxy(t, reg)
			p.Add(f)
			c := testClient(t, Options{})
			ref := parseRef(t, p.Host+"/library/busybox:1")
			if _, _, err := c.Resolve(testCtx(t), ref); err != nil {
				t.Fatalf("%s %s %d: %v", f.Kind, f.Path, f.Status, err)
			}
			b, _, err := fetchAll(c, ref, layer, 0)
			if err != nil || !bytes.Equal(b, full) {
				t.Fatalf("%s %d: %d bytes, %v", f.Path, f.Status, len(b), err)
			}
			faulted := 0
			for _, r := range p.Log() {
				if r.Fault != "" {
					faulted++
				}
			}
			if faulted != f.Times {
				t.Fatalf("%d faulted requests, want %d", faulted, f.Times)
			}
		}
	})

	t.Run("cut mid-blob then resume with Range", func(t *testing.T) {
		p := testutil.StartFaultProxy(t, reg)
		p.Add(testutil.Fault{Kind: testutil.FaultCut, Path: blobPath, After: 300_000, Times: 1})
		c := testClient(t, Options{})
		ref := parseRef(t, p.Host+"/library/busybox:1")
		part, _, err := fetchAll(c, ref, layer, 0)
		if err == nil {
			t.Fatal("a cut connection was not reported")
		}
		t.Logf("message: %v", err)
		if !strings.Contains(err.Error(), string(layer.Digest)) {
			t.Fatalf("error %q does not name the blob", err)
		}
		if len(part) == 0 || len(part) > 300_000 || !bytes.Equal(part, full[:len(part)]) {
			t.Fatalf("partial body of %d bytes is not a prefix", len(part))
		}
		rest, start, err := fetchAll(c, ref, layer, int64(len(part)))
		if err != nil || start != int64(len(part)) {
			t.Fatalf("resume: start %d, err %v", start, err)
		}
		if sha(append(part, rest...)) != string(layer.Digest) {
			t.Fatal("resumed blob does not match its digest")
		}
		gets := p.BlobGets(string(layer.Digest))
		if len(gets) != 2 || gets[0].Range != "" || !strings.HasPrefix(gets[1].Range, fmt.Sprintf("bytes=%d-", len(part))) || gets[1].Status != 206 {
			t.Fatalf("registry saw %+v; want a plain GET then a ranged GET from %d", gets, len(part))
		}
		if gets[1].Bytes != layer.Size-int64(len(part)) {
			t.Fatalf("resume transferred %d bytes, want %d", gets[1].Bytes, layer.Size-int64(len(part)))
		}
	})

	t.Run("registry ignores Range", func(t *testing.T) {
		p := testutil.StartFaultProxy(t, reg)
		p.Add(testutil.Fault{Kind: testutil.FaultIgnoreRange, Path: blobPath})
		b, start, err := fetchAll(testClient(t, Options{}), parseRef(t, p.Host+"/library/busybox:1"), layer, 1000)
		if err != nil || start != 0 || !bytes.Equal(b, full) {
			t.Fatalf("start %d, %d bytes, err %v", start, len(b), err)
		}
	})

	t.Run("flipped byte passes through to the verifier", func(t *testing.T) {
		p := testutil.StartFaultProxy(t, reg)
		p.Add(testutil.Fault{Kind: testutil.FaultFlipByte, Path: blobPath, After: 1234})
		b, _, err := fetchAll(testClient(t, Options{}), parseRef(t, p.Host+"/library/busybox:1"), layer, 0)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != layer.Size || sha(b) == string(layer.Digest) || b[1234] == full[1234] {
			t.Fatal("the flipped byte was hidden")
		}
	})

	t.Run("huge and wrong Content-Length", func(t *testing.T) {
		for _, f := range []testutil.Fault{
			{Kind: testutil.FaultHugeLen, Path: blobPath},
			{Kind: testutil.FaultWrongLen, Path: blobPath, Delta: 7},
			{Kind: testutil.FaultWrongLen, Path: blobPath, Delta: -7},
		} {
			p := testutil.StartFaultProxy(t, reg)
			p.Add(f)
			b, _, err := fetchAll(testClient(t, Options{}), parseRef(t, p.Host+"/library/busybox:1"), layer, 0)
			if err == nil {
				t.Fatalf("%s %d: accepted", f.Kind, f.Delta)
			}
			t.Logf("%s %d: %v", f.Kind, f.Delta, err)
			if f.Kind == testutil.FaultHugeLen && !errors.Is(err, errdefs.ErrTooLarge) {
				t.Fatalf("huge length: %v", err)
			}
			if int64(len(b)) > layer.Size {
				t.Fatalf("%s: read %d bytes", f.Kind, len(b))
			}
		}
	})

	t.Run("stall is bounded", func(t *testing.T) {
		p := testutil.StartFaultProxy(t, reg)
		p.Add(testutil.Fault{Kind: testutil.FaultStall, Path: blobPath, After: 1000})
		c := testClient(t, Options{IdleTimeout: 500 * time.Millisecond})
		b, _, err := fetchAll(c, parseRef(t, p.Host+"/library/busybox:1"), layer, 0)
		t.Logf("message: %v", err)
		if err == nil || !strings.Contains(err.Error(), "stalled") {
			t.Fatalf("got %v after %d bytes, want a stall error", err, len(b))
		}
		p.Add(testutil.Fault{Kind: testutil.FaultStall, Path: "/manifests/"})
		c = testClient(t, Options{ResponseTimeout: 500 * time.Millisecond, Retry: RetryPolicy{Attempts: 1}})
		if _, _, err := c.Resolve(testCtx(t), parseRef(t, p.Host+"/library/busybox:1")); err == nil {
			t.Fatal("stalled manifest accepted")
		}
	})

	t.Run("manifest with a mismatched layer digest", func(t *testing.T) {
		p := testutil.StartFaultProxy(t, reg)
		p.Add(testutil.Fault{Kind: testutil.FaultBadLayer, Path: "/manifests/1"})
		c := testClient(t, Options{})
		ref := parseRef(t, p.Host+"/library/busybox:1")
		_, b, err := c.Resolve(testCtx(t), ref)
		if err != nil {
			t.Fatal(err)
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		fake, ok := p.BogusLayerDigest(string(layer.Digest))
		if !ok || string(m.Layers[0].Digest) != fake {
			t.Fatalf("proxy did not rewrite the manifest")
		}
		body, _, err := fetchAll(c, ref, m.Layers[0], 0)
		if err != nil {
			t.Fatal(err)
		}
		if digest.FromBytes(body) == m.Layers[0].Digest {
			t.Fatal("bytes unexpectedly match the bogus digest")
		}
	})

	t.Run("self-referencing index", func(t *testing.T) {
		p := testutil.StartFaultProxy(t, reg)
		p.Add(testutil.Fault{Kind: testutil.FaultSelfIndex, Path: "/manifests/1"})
		c := testClient(t, Options{})
		ref := parseRef(t, p.Host+"/library/busybox:1")
		desc, b, err := c.Resolve(testCtx(t), ref)
		if err != nil {
			t.Fatal(err)
		}
		var idx ocispec.Index
		if err := json.Unmarshal(b, &idx); err != nil || desc.MediaType != ocispec.MediaTypeImageIndex {
			t.Fatalf("%v %s", err, desc.MediaType)
		}
		_, err = c.FetchManifest(testCtx(t), ref, idx.Manifests[0])
		if !errors.Is(err, errdefs.ErrDigestMismatch) {
			t.Fatalf("child claiming to be its parent: got %v, want errdefs.ErrDigestMismatch", err)
		}
	})
}

// eventually polls cond for up to 10 seconds.
func eventually(cond func() bool) bool {
	for i := 0; i < 200; i++ {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// Login and pull read the same host configuration: a registry trusted
// (ca) or not verified (skip_verify) through hosts.toml, whichever way the
// file says it, is as reachable to login as to pull.
func TestE2ELoginUsesHostsConfig(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{TLS: true, Htpasswd: true})
	img := randomImage(t, 1, 1000)
	testutil.PushImage(t, reg, "secure/app:v1", img)
	ref := parseRef(t, reg.Host+"/secure/app:v1")
	for name, toml := range map[string]string{
		"server and ca":          fmt.Sprintf("server = %q\nca = %q\n", reg.URL, reg.CAFile),
		"ca, no server":          fmt.Sprintf("ca = %q\n", reg.CAFile),
		"skip_verify, no server": "skip_verify = true\n",
		"host entry with ca":     fmt.Sprintf("[host.%q]\ncapabilities = [\"pull\", \"resolve\"]\nca = %q\n", reg.URL, reg.CAFile),
		"host entry skip_verify": fmt.Sprintf("[host.%q]\ncapabilities = [\"pull\", \"resolve\"]\nskip_verify = true\n", reg.URL),
	} {
		t.Run(name, func(t *testing.T) {
			cfgDir := writeHosts(t, reg.Host, toml)
			t.Setenv("DOCKER_CONFIG", t.TempDir())
			t.Setenv("REGISTRY_AUTH_FILE", "/nonexistent")
			opts := Options{ConfigDir: cfgDir, Retry: RetryPolicy{Attempts: 1}}
			if err := Login(testCtx(t), opts, reg.Host, reg.User, "bad"); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("bad login: %v", err)
			}
			if err := Login(testCtx(t), opts, reg.Host, reg.User, reg.Password); err != nil {
				t.Fatalf("login: %v", err)
			}
			pullAll(t, testClient(t, Options{ConfigDir: cfgDir, Keychain: DefaultKeychain()}), ref)
		})
	}
}
