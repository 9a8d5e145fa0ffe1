package usernet

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Port is one published port: host [IP:]port to the container's port.
type Port struct {
	HostIP    string // "" for every address
	Host      int
	Container int
	Proto     string // "tcp" or "udp"
}

// ParsePort reads docker's -p: [IP:]HOST:CONTAINER[/tcp|/udp]. (A port
// range or a missing host port is not supported.)
func ParsePort(s string) (Port, error) {
	p := Port{Proto: "tcp"}
	spec := s
	if i := strings.LastIndexByte(spec, '/'); i >= 0 {
		p.Proto = spec[i+1:]
		spec = spec[:i]
		if p.Proto != "tcp" && p.Proto != "udp" {
			return p, fmt.Errorf("-p %q: protocol %q: want tcp or udp", s, p.Proto)
		}
	}
	i := strings.LastIndexByte(spec, ':')
	if i < 0 {
		return p, fmt.Errorf("-p %q: want [IP:]HOST:CONTAINER[/tcp|/udp]", s)
	}
	rest, cont := spec[:i], spec[i+1:]
	host := rest
	if j := strings.LastIndexByte(rest, ':'); j >= 0 {
		p.HostIP, host = strings.Trim(rest[:j], "[]"), rest[j+1:]
		if net.ParseIP(p.HostIP) == nil {
			return p, fmt.Errorf("-p %q: %q is not an IP address", s, p.HostIP)
		}
	}
	var err error
	if p.Host, err = port(host); err != nil {
		return p, fmt.Errorf("-p %q: host port: %v", s, err)
	}
	if p.Container, err = port(cont); err != nil {
		return p, fmt.Errorf("-p %q: container port: %v", s, err)
	}
	return p, nil
}

func port(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port (1-65535)", s)
	}
	return n, nil
}

// pastaArgs are pasta's forwarding options for ports: -t/-u
// [ADDR/]HOST:CONTAINER per port, and "none" for a protocol without any.
func pastaArgs(ports []Port) []string {
	var tcp, udp []string
	for _, p := range ports {
		spec := fmt.Sprintf("%d:%d", p.Host, p.Container)
		if p.HostIP != "" {
			spec = p.HostIP + "/" + spec
		}
		if p.Proto == "udp" {
			udp = append(udp, "-u", spec)
		} else {
			tcp = append(tcp, "-t", spec)
		}
	}
	if len(tcp) == 0 {
		tcp = []string{"-t", "none"}
	}
	if len(udp) == 0 {
		udp = []string{"-u", "none"}
	}
	return append(append(tcp, udp...), "-T", "none", "-U", "none")
}
