package spec

import (
	"fmt"
	"net/netip"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Annotations that carry the container's network files to the runner,
// which writes /etc/hosts and /etc/resolv.conf from them (runner.EtcFiles).
const (
	// AnnotationDNS: --dns servers, comma-separated; they replace the
	// host's nameservers in resolv.conf.
	AnnotationDNS = "io.ctr-lite.dns"
	// AnnotationAddHost: --add-host entries HOST:IP, comma-separated.
	AnnotationAddHost = "io.ctr-lite.add-host"
	// AnnotationIP: the container's address on its network (set by the
	// caller once the network is attached); hosts maps the hostname and
	// AnnotationName to it, and resolv.conf gets no loopback nameserver.
	AnnotationIP = "io.ctr-lite.ip"
	// AnnotationName: the container's name, an /etc/hosts alias of its IP.
	AnnotationName = "io.ctr-lite.name"
)

// Networks with a meaning of their own; any other value of
// Options.Network names a CNI network (package network), which gets a new
// network namespace the caller fills in (Linux.Namespaces, by path).
const (
	NetworkHost   = "host"
	NetworkNone   = "none"
	NetworkBridge = "bridge"
	// User-mode networks (package usernet), attached by the caller to
	// the container's own namespace: rootless runs default to one.
	NetworkPasta = "pasta"
	NetworkSlirp = "slirp4netns"
)

// setNetwork applies --network, --dns and --add-host.
func setNetwork(s *specs.Spec, opts Options) error {
	switch opts.Network {
	case "", NetworkHost:
	default: // none, bridge, pasta, slirp4netns, NAME: a namespace of its own
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	if len(opts.DNS) > 0 {
		for _, d := range opts.DNS {
			if _, err := netip.ParseAddr(d); err != nil {
				return fmt.Errorf("%w: --dns %q: not an IP address", ErrInvalidOption, d)
			}
		}
		s.Annotations[AnnotationDNS] = strings.Join(opts.DNS, ",")
	}
	if len(opts.AddHosts) > 0 {
		for _, h := range opts.AddHosts {
			if _, _, err := ParseAddHost(h); err != nil {
				return err
			}
		}
		s.Annotations[AnnotationAddHost] = strings.Join(opts.AddHosts, ",")
	}
	return nil
}

// ParseAddHost reads --add-host HOST:IP (docker also accepts HOST=IP).
func ParseAddHost(v string) (host string, ip netip.Addr, err error) {
	i := strings.IndexAny(v, ":=")
	if i <= 0 {
		return "", ip, fmt.Errorf("%w: --add-host %q: want HOST:IP", ErrInvalidOption, v)
	}
	host = v[:i]
	ip, err = netip.ParseAddr(strings.Trim(v[i+1:], "[]"))
	if err != nil || strings.ContainsAny(host, " \t,") {
		return "", ip, fmt.Errorf("%w: --add-host %q: want HOST:IP", ErrInvalidOption, v)
	}
	return host, ip, nil
}
