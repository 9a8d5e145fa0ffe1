package registry

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// Capability is an operation a host may be used for (containerd's names).
type Capability string

// Capabilities of a host in hosts.toml.
const (
	CapPull    Capability = "pull"    // fetch blobs and manifests by digest
	CapResolve Capability = "resolve" // resolve a tag to a digest
	CapPush    Capability = "push"
)

// Host is one endpoint from hosts.toml: a mirror or the server itself.
type Host struct {
	Scheme       string // "https" or "http"
	Host         string // host[:port]
	Path         string // API root, "/v2" unless overridden
	Capabilities []Capability
	SkipVerify   bool
	CAs          []string // PEM files, absolute
	Mirror       bool     // false for the server (upstream)
}

// Can reports whether the host may be used for capability c.
func (h Host) Can(c Capability) bool {
	for _, x := range h.Capabilities {
		if x == c {
			return true
		}
	}
	return false
}

// HostsConfig is a parsed hosts.toml: mirrors in file order, then the server.
type HostsConfig struct {
	Server *Host // nil when the file has no server key
	Hosts  []Host
	// SkipVerify and CAs are the top-level skip_verify and ca of a file
	// with no server key: they apply to the registry itself, as in
	// containerd.
	SkipVerify bool
	CAs        []string
}

const maxHostsFile = 1 << 20

type rawHost struct {
	Capabilities []string `toml:"capabilities"`
	SkipVerify   *bool    `toml:"skip_verify"`
	CA           any      `toml:"ca"`
	OverridePath bool     `toml:"override_path"`
}

type rawHosts struct {
	Server       string             `toml:"server"`
	Capabilities []string           `toml:"capabilities"`
	SkipVerify   *bool              `toml:"skip_verify"`
	CA           any                `toml:"ca"`
	OverridePath bool               `toml:"override_path"`
	Host         map[string]rawHost `toml:"host"`
}

// ParseHosts parses a containerd hosts.toml. dir resolves relative ca paths
// (the directory holding the file).
func ParseHosts(data []byte, dir string) (HostsConfig, error) {
	var cfg HostsConfig
	if len(data) > maxHostsFile {
		return cfg, fmt.Errorf("hosts.toml: %w (over %d bytes)", errdefs.ErrTooLarge, maxHostsFile)
	}
	var raw rawHosts
	if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw); err != nil {
		return cfg, fmt.Errorf("hosts.toml: %s", oneLine(err.Error()))
	}
	order, err := hostOrder(data)
	if err != nil {
		return cfg, err
	}
	for _, key := range order {
		rh, ok := raw.Host[key]
		if !ok {
			continue
		}
		h, err := makeHost(key, rh.Capabilities, rh.SkipVerify, rh.CA, rh.OverridePath, dir)
		if err != nil {
			return cfg, err
		}
		h.Mirror = true
		cfg.Hosts = append(cfg.Hosts, h)
	}
	if raw.Server != "" {
		caps := raw.Capabilities
		if caps == nil {
			caps = []string{"pull", "resolve", "push"}
		}
		h, err := makeHost(raw.Server, caps, raw.SkipVerify, raw.CA, raw.OverridePath, dir)
		if err != nil {
			return cfg, err
		}
		cfg.Server = &h
	} else {
		cfg.SkipVerify = raw.SkipVerify != nil && *raw.SkipVerify
		if cfg.CAs, err = caFiles(raw.CA, dir); err != nil {
			return cfg, fmt.Errorf("hosts.toml: %w", err)
		}
	}
	return cfg, nil
}

// hostOrder lists the keys of [host."..."] tables in the order they appear,
// which a map loses.
func hostOrder(data []byte) ([]string, error) {
	var p unstable.Parser
	p.Reset(data)
	var order []string
	seen := map[string]bool{}
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.Table {
			continue
		}
		var parts []string
		it := e.Key()
		for it.Next() {
			parts = append(parts, string(it.Node().Data))
		}
		if len(parts) >= 2 && parts[0] == "host" && !seen[parts[1]] {
			seen[parts[1]] = true
			order = append(order, parts[1])
		}
	}
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("hosts.toml: %s", oneLine(err.Error()))
	}
	return order, nil
}

func makeHost(raw string, caps []string, skip *bool, ca any, overridePath bool, dir string) (Host, error) {
	var h Host
	s := raw
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return h, fmt.Errorf("hosts.toml: host %q: %s", raw, oneLine(err.Error()))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return h, fmt.Errorf("hosts.toml: host %q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return h, fmt.Errorf("hosts.toml: host %q: want scheme://host[:port][/path]", raw)
	}
	h.Scheme, h.Host = u.Scheme, u.Host
	p := path.Clean("/" + u.Path)
	switch {
	case p == "/":
		h.Path = "/v2"
	case overridePath:
		h.Path = p
	case strings.HasSuffix(p, "/v2"):
		h.Path = p
	default:
		h.Path = p + "/v2"
	}
	if skip != nil {
		h.SkipVerify = *skip
	}
	if caps == nil {
		caps = []string{"pull", "resolve", "push"}
	}
	for _, c := range caps {
		switch Capability(c) {
		case CapPull, CapResolve, CapPush:
			h.Capabilities = append(h.Capabilities, Capability(c))
		default:
			return h, fmt.Errorf("hosts.toml: host %q: unknown capability %q", raw, c)
		}
	}
	if h.CAs, err = caFiles(ca, dir); err != nil {
		return h, fmt.Errorf("hosts.toml: host %q: %w", raw, err)
	}
	return h, nil
}

// caFiles reads a ca value: one path or a list, relative to dir.
func caFiles(ca any, dir string) ([]string, error) {
	var files []string
	switch v := ca.(type) {
	case nil:
	case string:
		files = []string{v}
	case []any:
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("ca must be a path or a list of paths")
			}
			files = append(files, s)
		}
	default:
		return nil, fmt.Errorf("ca must be a path or a list of paths")
	}
	for i, f := range files {
		if f == "" {
			return nil, fmt.Errorf("empty ca path")
		}
		if !filepath.IsAbs(f) {
			files[i] = filepath.Join(dir, f)
		}
	}
	return files, nil
}

// loadHosts reads <configDir>/certs.d/<registry>/hosts.toml; a missing file
// is an empty configuration.
func loadHosts(configDir, registry string) (HostsConfig, error) {
	if configDir == "" {
		return HostsConfig{}, nil
	}
	dir := filepath.Join(configDir, "certs.d", strings.ReplaceAll(registry, "/", "_"))
	data, err := os.ReadFile(filepath.Join(dir, "hosts.toml"))
	if os.IsNotExist(err) {
		// containerd's fallback for every host without its own file.
		dir = filepath.Join(configDir, "certs.d", "_default")
		data, err = os.ReadFile(filepath.Join(dir, "hosts.toml"))
	}
	if os.IsNotExist(err) {
		return HostsConfig{}, nil
	}
	if err != nil {
		return HostsConfig{}, err
	}
	cfg, err := ParseHosts(data, dir)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", filepath.Join(dir, "hosts.toml"), err)
	}
	return cfg, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
