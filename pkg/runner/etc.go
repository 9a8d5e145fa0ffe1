package runner

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// EtcFiles writes hosts, hostname and resolv.conf into dir and returns
// bind mounts for the ones the spec does not already mount. With a private
// network (none) hosts holds only loopback names; with the host's network
// it is the host's file plus the container's name.
func EtcFiles(dir, hostname string, privateNet bool, existing []specs.Mount) ([]specs.Mount, error) {
	has := map[string]bool{}
	for _, m := range existing {
		has[path.Clean(m.Destination)] = true
	}
	var hosts bytes.Buffer
	if !privateNet {
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
	fmt.Fprintf(&hosts, "127.0.0.1\t%s\n", hostname)
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		resolv = nil
	}
	files := []struct {
		name string
		data []byte
	}{
		{"hosts", hosts.Bytes()},
		{"hostname", []byte(hostname + "\n")},
		{"resolv.conf", resolv},
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
