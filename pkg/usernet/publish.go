package usernet

import (
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/network"
)

// pastaArgs are pasta's forwarding options for ports: -t/-u
// [ADDR/]HOST:CONTAINER per port, and "none" for a protocol without any.
func pastaArgs(ports []network.Port) []string {
	var tcp, udp []string
	for _, p := range ports {
		spec := fmt.Sprintf("%d:%d", p.HostPort, p.ContainerPort)
		if p.HostIP != "" {
			spec = p.HostIP + "/" + spec
		}
		if p.Protocol == "udp" {
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
