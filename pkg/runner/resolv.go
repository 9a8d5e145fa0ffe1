package runner

import (
	"bytes"
	"net/netip"
	"os"
	"strings"

	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// Where resolv.conf comes from; vars for tests.
var (
	hostResolvConf = "/etc/resolv.conf"
	// upstreamResolvConf is systemd-resolved's list of the real servers,
	// used when the host's file points at a local stub (127.0.0.53).
	upstreamResolvConf = "/run/systemd/resolve/resolv.conf"
)

// fallbackDNS are docker's nameservers for a container on its own network
// when the host has none it can reach.
var fallbackDNS = []string{"8.8.8.8", "8.8.4.4"}

// resolvConf is the container's resolv.conf: the host's, with --dns
// (rspec.AnnotationDNS) replacing its nameservers. A container on a
// network of its own (rspec.AnnotationIP set) cannot reach the host's
// loopback: loopback nameservers are dropped, and when none is left the
// servers behind systemd-resolved's stub are used, as podman does, or else
// docker's fallback.
func resolvConf(ann map[string]string) []byte {
	host, _ := os.ReadFile(hostResolvConf)
	own := ann[rspec.AnnotationIP] != ""
	var dns []string
	if v := ann[rspec.AnnotationDNS]; v != "" {
		dns = strings.Split(v, ",")
	}
	if dns == nil && !own {
		return host
	}
	other, servers := splitResolv(host)
	if dns == nil {
		dns = reachable(servers)
		if len(dns) == 0 {
			up, _ := os.ReadFile(upstreamResolvConf)
			_, s := splitResolv(up)
			dns = reachable(s)
		}
		if len(dns) == 0 {
			dns = fallbackDNS
		}
	}
	var b bytes.Buffer
	for _, d := range dns {
		b.WriteString("nameserver " + d + "\n")
	}
	b.Write(other)
	return b.Bytes()
}

// splitResolv separates a resolv.conf's nameserver lines from the rest.
func splitResolv(b []byte) (other []byte, servers []string) {
	var o bytes.Buffer
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "nameserver" {
			servers = append(servers, f[1])
			continue
		}
		if strings.TrimSpace(l) != "" {
			o.WriteString(l + "\n")
		}
	}
	return o.Bytes(), servers
}

// reachable drops loopback servers.
func reachable(servers []string) []string {
	var out []string
	for _, s := range servers {
		if a, err := netip.ParseAddr(strings.Split(s, "%")[0]); err == nil && !a.IsLoopback() {
			out = append(out, s)
		}
	}
	return out
}
