package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestStartRegistry(t *testing.T) {
	tests := []struct {
		name     string
		opts     RegistryOptions
		anonCode int
	}{
		{"plain", RegistryOptions{}, http.StatusOK},
		{"tls htpasswd", RegistryOptions{TLS: true, Htpasswd: true}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := StartRegistry(t, tc.opts)
			if !strings.HasPrefix(reg.Host, "127.0.0.1:") {
				t.Fatalf("host %s", reg.Host)
			}
			if tc.opts.TLS != strings.HasPrefix(reg.URL, "https://") {
				t.Fatalf("url %s", reg.URL)
			}
			c := &http.Client{Transport: reg.Transport()}
			resp, err := c.Get(reg.URL + "/v2/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.anonCode {
				t.Fatalf("anonymous /v2/: %d, want %d", resp.StatusCode, tc.anonCode)
			}
			if tc.opts.Htpasswd {
				req, _ := http.NewRequest("GET", reg.URL+"/v2/", nil)
				req.SetBasicAuth(reg.User, reg.Password)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("with credentials: %d", resp.StatusCode)
				}
			}
		})
	}
}

func TestPushAndPullThroughCache(t *testing.T) {
	// TLS upstream (its CA handed to the cache). distribution 2.8's proxy
	// mode did not authenticate to an htpasswd upstream in our trials, so
	// the upstream here is open.
	up := StartRegistry(t, RegistryOptions{TLS: true})
	img := AlpineImage(t)
	PushImage(t, up, "library/alpine:3.20", img)
	cache := StartRegistry(t, RegistryOptions{ProxyRemoteURL: up.URL, ProxyCAFile: up.CAFile})
	want, _ := img.Digest()
	for _, reg := range []*Registry{up, cache} {
		got, err := remote.Image(reg.Ref(t, "library/alpine:3.20"), reg.RemoteOptions()...)
		if err != nil {
			log, _ := os.ReadFile(reg.Dir + "/registry.log")
			t.Fatalf("%s: %v\n%s", reg, err, tail(log, 3000))
		}
		if d, _ := got.Digest(); d != want {
			t.Fatalf("%s: pulled %s, pushed %s", reg, d, want)
		}
		l, _ := got.Layers()
		rc, err := l[0].Compressed()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc) // ggcr verifies the digest at EOF
		rc.Close()
		if err != nil || n == 0 {
			t.Fatalf("%s: layer: %d bytes, %v", reg, n, err)
		}
	}
}

func TestAlpineImage(t *testing.T) {
	img := AlpineImage(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.Config.Cmd) != 1 || cf.Config.Cmd[0] != "/bin/sh" || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Fatalf("config %+v", cf.Config)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 || len(cf.RootFS.DiffIDs) != 1 {
		t.Fatalf("%d layers, %d diff_ids", len(layers), len(cf.RootFS.DiffIDs))
	}
	// With the corpus, the layer is its tarball byte for byte; either way
	// its diff_id is the sha256 of the uncompressed tar.
	if _, ok := CorpusDir(t); ok {
		raw, err := os.ReadFile(CorpusFile(t, AlpineMinirootfs))
		if err != nil {
			t.Fatal(err)
		}
		d, _ := layers[0].Digest()
		sum := sha256.Sum256(raw)
		if d.Hex != hex.EncodeToString(sum[:]) {
			t.Fatalf("layer digest %s is not the tarball's", d)
		}
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if cf.RootFS.DiffIDs[0].Hex != hex.EncodeToString(h.Sum(nil)) {
		t.Fatal("diff_id does not match the uncompressed layer")
	}
	mt, _ := img.MediaType()
	if !strings.Contains(string(mt), "oci") {
		t.Fatalf("manifest media type %s", mt)
	}
}
