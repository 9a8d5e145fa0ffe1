package runner

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// EtcFiles writes hosts, hostname and resolv.conf for the container of s
// into dir and returns bind mounts for the ones s does not already mount.
//
// hosts: on the host's network, the host's file plus the hostname as
// 127.0.0.1; in a namespace of its own, the loopback names and the
// hostname (and name, rspec.AnnotationName) on the container's address
// (rspec.AnnotationIP, else 127.0.0.1); then --add-host entries.
// resolv.conf: see resolvConf.
func EtcFiles(dir string, s *specs.Spec) ([]specs.Mount, error) {
	has := map[string]bool{}
	for _, m := range s.Mounts {
		has[path.Clean(m.Destination)] = true
	}
	hosts, err := hostsFile(s)
	if err != nil {
		return nil, err
	}
	files := []struct {
		name string
		data []byte
	}{
		{"hosts", hosts},
		{"hostname", []byte(s.Hostname + "\n")},
		{"resolv.conf", resolvConf(s.Annotations)},
	}
	var out []specs.Mount
	for _, f := range files {
		dst := "/etc/" + f.name
		if has[dst] {
			continue
		}
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
		out = append(out, specs.Mount{Destination: dst, Type: "bind", Source: p, Options: []string{"rbind", "rprivate"}})
	}
	return out, nil
}

func hostsFile(s *specs.Spec) ([]byte, error) {
	var hosts bytes.Buffer
	if !hasNS(s, specs.NetworkNamespace) {
		if b, err := os.ReadFile("/etc/hosts"); err == nil {
			hosts.Write(b)
			if len(b) > 0 && b[len(b)-1] != '\n' {
				hosts.WriteByte('\n')
			}
		}
	}
	if hosts.Len() == 0 {
		hosts.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	}
	ip, names := "127.0.0.1", s.Hostname
	if v := s.Annotations[rspec.AnnotationIP]; v != "" {
		ip = v
	}
	if n := s.Annotations[rspec.AnnotationName]; n != "" && n != s.Hostname {
		names += " " + n
	}
	fmt.Fprintf(&hosts, "%s\t%s\n", ip, names)
	if v := s.Annotations[rspec.AnnotationAddHost]; v != "" {
		for _, e := range strings.Split(v, ",") {
			host, addr, err := rspec.ParseAddHost(e)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&hosts, "%s\t%s\n", addr, host)
		}
	}
	return hosts.Bytes(), nil
}
