package network

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Port is one published port (-p), as portmap's portMappings capability
// names it.
type Port struct {
	HostIP        string `json:"host_ip,omitempty"`
	HostPort      int    `json:"host_port"`
	ContainerPort int    `json:"container_port"`
	Protocol      string `json:"protocol"` // tcp or udp
}

// String is the -p form: [IP:]HOST:CONTAINER/PROTO.
func (p Port) String() string {
	s := fmt.Sprintf("%d:%d/%s", p.HostPort, p.ContainerPort, p.Protocol)
	if p.HostIP != "" {
		ip := p.HostIP
		if strings.Contains(ip, ":") {
			ip = "[" + ip + "]"
		}
		s = ip + ":" + s
	}
	return s
}

// ParsePort reads docker's -p [IP:]HOST:CONTAINER[/tcp|udp] (an IPv6 IP
// in brackets).
func ParsePort(s string) (Port, error) {
	p := Port{Protocol: "tcp"}
	spec := s
	if i := strings.LastIndex(spec, "/"); i >= 0 {
		p.Protocol = strings.ToLower(spec[i+1:])
		spec = spec[:i]
		if p.Protocol != "tcp" && p.Protocol != "udp" {
			return p, fmt.Errorf("publish %q: protocol %q: want tcp or udp", s, p.Protocol)
		}
	}
	i := strings.LastIndex(spec, ":")
	if i < 0 {
		return p, fmt.Errorf("publish %q: want [IP:]HOST:CONTAINER[/tcp|udp]", s)
	}
	ctr, rest := spec[i+1:], spec[:i]
	host := rest
	if j := strings.LastIndex(rest, ":"); j >= 0 {
		host = rest[j+1:]
		ip := strings.TrimSuffix(strings.TrimPrefix(rest[:j], "["), "]")
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return p, fmt.Errorf("publish %q: host IP %q: %w", s, ip, err)
		}
		p.HostIP = a.String()
	}
	var err error
	if p.HostPort, err = port(host); err != nil {
		return p, fmt.Errorf("publish %q: host port: %w", s, err)
	}
	if p.ContainerPort, err = port(ctr); err != nil {
		return p, fmt.Errorf("publish %q: container port: %w", s, err)
	}
	return p, nil
}

func port(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return n, nil
}
