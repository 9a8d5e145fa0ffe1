package registry

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

func TestParseHosts(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		server  *Host
		hosts   []Host
		wantErr string
	}{
		{
			name: "containerd example, order kept",
			in: `server = "https://registry-1.docker.io"
[host."https://mirror-b.example.com"]
  capabilities = ["pull", "resolve"]
  ca = "ca.pem"
[host."http://10.0.0.5:5000"]
  capabilities = ["pull"]
[host."https://a.example.com:8443/prefix"]
  skip_verify = true
  ca = ["/etc/one.pem", "two.pem"]
`,
			server: &Host{Scheme: "https", Host: "registry-1.docker.io", Path: "/v2", Capabilities: []Capability{CapPull, CapResolve, CapPush}},
			hosts: []Host{
				{Scheme: "https", Host: "mirror-b.example.com", Path: "/v2", Capabilities: []Capability{CapPull, CapResolve}, CAs: []string{"/cfg/ca.pem"}, Mirror: true},
				{Scheme: "http", Host: "10.0.0.5:5000", Path: "/v2", Capabilities: []Capability{CapPull}, Mirror: true},
				{Scheme: "https", Host: "a.example.com:8443", Path: "/prefix/v2", Capabilities: []Capability{CapPull, CapResolve, CapPush}, SkipVerify: true, CAs: []string{"/etc/one.pem", "/cfg/two.pem"}, Mirror: true},
			},
		},
		{
			name:  "override path",
			in:    "[host.\"https://m.example.com/custom/api\"]\noverride_path = true\n",
			hosts: []Host{{Scheme: "https", Host: "m.example.com", Path: "/custom/api", Capabilities: []Capability{CapPull, CapResolve, CapPush}, Mirror: true}},
		},
		{name: "host without scheme is https", in: `[host."m.example.com"]`,
			hosts: []Host{{Scheme: "https", Host: "m.example.com", Path: "/v2", Capabilities: []Capability{CapPull, CapResolve, CapPush}, Mirror: true}}},
		{name: "empty file", in: ""},
		{name: "bad toml", in: "server = ", wantErr: "hosts.toml"},
		{name: "bad scheme", in: `server = "ftp://x"`, wantErr: "scheme"},
		{name: "unknown capability", in: "[host.\"https://m\"]\ncapabilities = [\"fly\"]", wantErr: "capability"},
		{name: "ca wrong type", in: "[host.\"https://m\"]\nca = 3", wantErr: "ca must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseHosts([]byte(tc.in), "/cfg")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Server, tc.server) {
				t.Fatalf("server %+v, want %+v", cfg.Server, tc.server)
			}
			if !reflect.DeepEqual(cfg.Hosts, tc.hosts) {
				t.Fatalf("hosts\n%+v\nwant\n%+v", cfg.Hosts, tc.hosts)
			}
		})
	}
}

func FuzzParseHosts(f *testing.F) {
	f.Add([]byte("server = \"https://r\"\n[host.\"http://m:5000\"]\ncapabilities = [\"pull\"]\nca = [\"a\"]\n"))
	f.Add([]byte("[host.\"https://a/b\"]\noverride_path = true\nskip_verify = true\n"))
	f.Add([]byte("[host]\n[host.x.y]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseHosts(data, "/cfg")
		if err != nil {
			return
		}
		all := cfg.Hosts
		if cfg.Server != nil {
			all = append(all, *cfg.Server)
		}
		for _, h := range all {
			if h.Scheme != "http" && h.Scheme != "https" {
				t.Fatalf("scheme %q accepted", h.Scheme)
			}
			if h.Host == "" || strings.ContainsAny(h.Host, "/?#@") {
				t.Fatalf("host %q accepted", h.Host)
			}
			if !strings.HasPrefix(h.Path, "/") {
				t.Fatalf("path %q", h.Path)
			}
		}
	})
}

// Mirrors are tried in order for the operations their capabilities allow,
// then the upstream.
func TestMirrors(t *testing.T) {
	img := randomImage(t, 1, 2000)
	desc := layerDesc(t, img, 0)
	up := startMem(t, nil)
	up.push(t, "lib/app:v1", img)
	full := startMem(t, nil) // a mirror that has the image
	full.push(t, "lib/app:v1", img)
	empty := startMem(t, nil) // a mirror that has nothing
	pullOnly := startMem(t, nil)
	pullOnly.push(t, "lib/app:v1", img)
	down := "127.0.0.1:1" // nothing listens

	tests := []struct {
		name      string
		hosts     string
		resolveBy *memRegistry // registry expected to answer the tag
		blobBy    *memRegistry
	}{
		{"first mirror has it", fmt.Sprintf("[host.\"http://%s\"]\n[host.\"http://%s\"]\n", full.host, empty.host), full, full},
		{"falls through an empty mirror", fmt.Sprintf("[host.\"http://%s\"]\n[host.\"http://%s\"]\n", empty.host, full.host), full, full},
		{"falls through a dead mirror to upstream", fmt.Sprintf("[host.\"http://%s\"]\n", down), up, up},
		{"pull-only mirror is not asked for tags", fmt.Sprintf("[host.\"http://%s\"]\ncapabilities = [\"pull\"]\n", pullOnly.host), up, pullOnly},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []*memRegistry{up, full, empty, pullOnly} {
				m.requests()
			}
			c := testClient(t, Options{ConfigDir: writeHosts(t, up.host, tc.hosts), Retry: RetryPolicy{Attempts: 1}})
			ref := up.ref(t, "lib/app:v1")
			if _, _, err := c.Resolve(testCtx(t), ref); err != nil {
				t.Fatal(err)
			}
			if !served(tc.resolveBy, "GET", "/manifests/v1") {
				t.Fatalf("manifest not served by the expected host")
			}
			rc, _, err := c.Fetch(testCtx(t), ref, desc, 0)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, rc)
			rc.Close()
			if !served(tc.blobBy, "GET", "/blobs/"+string(desc.Digest)) {
				t.Fatalf("blob not served by the expected host")
			}
		})
	}

	t.Run("not found anywhere", func(t *testing.T) {
		c := testClient(t, Options{ConfigDir: writeHosts(t, up.host, fmt.Sprintf("[host.\"http://%s\"]\n", empty.host))})
		_, _, err := c.Resolve(testCtx(t), up.ref(t, "lib/none:v1"))
		if !errors.Is(err, errdefs.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
}

func served(m *memRegistry, method, pathSuffix string) bool {
	for _, p := range m.requests() {
		if strings.HasPrefix(p, method+" ") && strings.HasSuffix(p, pathSuffix) {
			return true
		}
	}
	return false
}
