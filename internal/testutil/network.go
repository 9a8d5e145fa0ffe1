package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// NetState counts what a container network leaves on the host: veth
// interfaces, iptables rules and chains that CNI plugins made for
// containers (any CNI- chain or rule, or naming the bridge, except the
// network-wide chains the plugins make once and keep, as under podman:
// CNI-FORWARD, CNI-ADMIN, CNI-HOSTPORT-* and the jumps to them), IPAM
// lease files under ipamDir, and mounted network namespaces (nsfs mounts). Tests compare it before and
// after a container's life. It needs root, ip and iptables-save.
type NetState struct {
	Veths, Rules, Leases, NetNS int
}

// CountNet returns the current NetState; bridge is the CNI bridge's name.
func CountNet(t testing.TB, bridge, ipamDir string) NetState {
	t.Helper()
	RequireTool(t, "ip", "iproute2")
	RequireTool(t, "iptables-save", "iptables")
	var s NetState
	links, err := exec.Command("ip", "-o", "link").Output()
	if err != nil {
		t.Fatalf("ip -o link: %v", err)
	}
	for _, l := range strings.Split(string(links), "\n") {
		if strings.Contains(l, "veth") {
			s.Veths++
		}
	}
	rules, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	for _, l := range strings.Split(string(rules), "\n") {
		if (strings.Contains(l, "CNI-") || strings.Contains(l, bridge)) && !networkWide(l) {
			s.Rules++
		}
	}
	leases, _ := filepath.Glob(filepath.Join(ipamDir, "*", "*"))
	for _, p := range leases {
		if b := filepath.Base(p); b != "lock" && !strings.HasPrefix(b, "last_reserved_ip") {
			s.Leases++
		}
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, " - nsfs ") && strings.Contains(l, "net:[") {
			s.NetNS++
		}
	}
	return s
}

// CNIRules returns the iptables-save lines that mention id (CNI plugins
// put the container ID in their rules' comments and chains).
func CNIRules(t testing.TB, id string) []string {
	t.Helper()
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	var hits []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, id) {
			hits = append(hits, l)
		}
	}
	return hits
}

// networkWide tells the iptables-save lines of the chains CNI plugins make
// once per host and keep.
func networkWide(l string) bool {
	for _, c := range []string{"CNI-FORWARD", "CNI-ADMIN", "CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"} {
		if strings.HasPrefix(l, ":"+c+" ") {
			return true
		}
	}
	for _, r := range []string{
		`-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD`,
		`-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN`,
		`-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT`,
		`-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT`,
		`-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ`,
		`-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE`,
		`-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000`,
	} {
		if l == r {
			return true
		}
	}
	return false
}
