package testutil

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Net names one CNI network for NetState: its conflist name, bridge,
// subnet, IPAM lease directory, and the directory below which its
// containers' netns files are mounted.
type Net struct {
	Name, Bridge, Subnet, IPAMDir, Root string
}

// NetState counts what a container network leaves on the host: veths on
// its bridge, iptables rules and chains CNI plugins made for its
// containers (naming its subnet's addresses, its bridge or its name, and
// the per-container chains those rules use; not the host-wide chains the
// plugins make once and keep, as under podman: CNI-FORWARD, CNI-ADMIN,
// CNI-HOSTPORT-* and the jumps to them), IPAM lease files, and nsfs
// mounts below Root. Tests compare it before and after containers' lives;
// other networks (other tests' bridges) do not count. It needs root, ip
// and iptables-save.
type NetState struct {
	Veths, Rules, Leases, NetNS int
}

// cniChain matches the CNI plugins' chain names (compiled on first use:
// no package-level regexp, see TestNoPackageLevelRegexp).
var cniChain = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`CNI-[A-Za-z0-9-]+`) })

// CountNet returns the current NetState of n.
func CountNet(t testing.TB, n Net) NetState {
	t.Helper()
	RequireTool(t, "ip", "iproute2")
	RequireTool(t, "iptables-save", "iptables")
	var s NetState
	links, err := exec.Command("ip", "-o", "link").Output()
	if err != nil {
		t.Fatalf("ip -o link: %v", err)
	}
	for _, l := range strings.Split(string(links), "\n") {
		if strings.Contains(l, "veth") && strings.Contains(l, " master "+n.Bridge+" ") {
			s.Veths++
		}
	}
	rules, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	prefix := netip.MustParsePrefix(n.Subnet)
	ours := func(l string) bool {
		return strings.Contains(l, n.Bridge) || strings.Contains(l, fmt.Sprintf("name: %q", n.Name)) || mentionsAddrIn(l, prefix)
	}
	lines := strings.Split(string(rules), "\n")
	chains := map[string]bool{}
	for _, l := range lines {
		if ours(l) && !networkWide(l) {
			for _, c := range cniChain().FindAllString(l, -1) {
				chains[c] = true
			}
		}
	}
	for _, l := range lines {
		if networkWide(l) || !strings.Contains(l, "CNI-") && !ours(l) {
			continue
		}
		hit := ours(l)
		for _, c := range cniChain().FindAllString(l, -1) {
			hit = hit || chains[c] && !wideChain(c)
		}
		if hit {
			s.Rules++
		}
	}
	leases, _ := filepath.Glob(filepath.Join(n.IPAMDir, n.Name, "*"))
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
		if f := strings.Fields(l); len(f) > 4 && strings.Contains(l, " - nsfs ") && strings.HasPrefix(f[4], n.Root+"/") {
			s.NetNS++
		}
	}
	return s
}

// mentionsAddrIn reports whether an iptables-save line names an address
// (or network) inside prefix.
func mentionsAddrIn(l string, prefix netip.Prefix) bool {
	for _, w := range strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == '/' || r == ':' || r == '"' }) {
		if a, err := netip.ParseAddr(w); err == nil && prefix.Contains(a) {
			return true
		}
	}
	return false
}

var wideChains = []string{"CNI-FORWARD", "CNI-ADMIN", "CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"}

func wideChain(c string) bool {
	for _, w := range wideChains {
		if c == w {
			return true
		}
	}
	return false
}

// networkWide tells the iptables-save lines of the chains CNI plugins make
// once per host and keep.
func networkWide(l string) bool {
	for _, c := range wideChains {
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

// CNIRules returns the iptables-save lines that mention id (CNI plugins
// put the container ID in their rules' comments).
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

// WriteConflist writes dir/NAME.conflist: a network like ctr-lite's
// default (bridge with NAT, host-local IPAM in ipamDir, portmap,
// firewall) on its own bridge and subnet, so that tests of different
// packages running at once do not share one.
func WriteConflist(t testing.TB, dir string, n Net) {
	t.Helper()
	list := fmt.Sprintf(`{"cniVersion":"1.0.0","name":%q,"plugins":[
 {"type":"bridge","bridge":%q,"isGateway":true,"ipMasq":true,"hairpinMode":true,
  "ipam":{"type":"host-local","dataDir":%q,"ranges":[[{"subnet":%q}]],"routes":[{"dst":"0.0.0.0/0"}]}},
 {"type":"portmap","capabilities":{"portMappings":true}},
 {"type":"firewall","backend":"iptables"}]}
`, n.Name, n.Bridge, n.IPAMDir, n.Subnet)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, n.Name+".conflist"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
}
