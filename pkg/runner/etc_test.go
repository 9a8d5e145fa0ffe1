package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

func TestResolvConf(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stub := write("stub", "nameserver 127.0.0.53\noptions edns0\nsearch lan\n")
	real := write("real", "nameserver 192.0.2.1\nsearch lan\n")
	upstream := write("upstream", "nameserver 192.0.2.9\n")
	tests := []struct {
		name, host, upstream string
		ann                  map[string]string
		want                 string
	}{
		{"host network keeps the host's file", stub, upstream, nil, "nameserver 127.0.0.53\noptions edns0\nsearch lan\n"},
		{"own network keeps reachable servers", real, upstream, map[string]string{rspec.AnnotationIP: "10.89.0.2"}, "nameserver 192.0.2.1\nsearch lan\n"},
		{"own network: stub replaced by resolved's upstream", stub, upstream, map[string]string{rspec.AnnotationIP: "10.89.0.2"}, "nameserver 192.0.2.9\noptions edns0\nsearch lan\n"},
		{"own network: stub and no upstream: fallback", stub, filepath.Join(dir, "missing"), map[string]string{rspec.AnnotationIP: "10.89.0.2"}, "nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\nsearch lan\n"},
		{"--dns replaces the servers", real, upstream, map[string]string{rspec.AnnotationDNS: "10.0.0.1,10.0.0.2"}, "nameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch lan\n"},
	}
	defer func(h, u string) { hostResolvConf, upstreamResolvConf = h, u }(hostResolvConf, upstreamResolvConf)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hostResolvConf, upstreamResolvConf = tc.host, tc.upstream
			if got := string(resolvConf(tc.ann)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHostsFile(t *testing.T) {
	own := []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/x"}}
	tests := []struct {
		name string
		ns   []specs.LinuxNamespace
		ann  map[string]string
		want []string
		not  []string
	}{
		{"own network, address known", own,
			map[string]string{rspec.AnnotationIP: "10.89.0.7", rspec.AnnotationName: "web", rspec.AnnotationAddHost: "db:10.1.2.3,v6=[fd00::2]"},
			[]string{"127.0.0.1\tlocalhost\n", "10.89.0.7\tabc web\n", "10.1.2.3\tdb\n", "fd00::2\tv6\n"}, []string{"127.0.0.1\tabc"}},
		{"none", own, nil, []string{"127.0.0.1\tabc\n"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &specs.Spec{Hostname: "abc", Annotations: tc.ann, Linux: &specs.Linux{Namespaces: tc.ns}}
			b, err := hostsFile(s)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%q missing from\n%s", w, b)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(string(b), w) {
					t.Errorf("%q in\n%s", w, b)
				}
			}
		})
	}
}
