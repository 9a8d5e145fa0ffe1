package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/sys/capability"
)

// DefaultCaps is docker's default capability set (moby oci/caps/defaults.go).
var DefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// hostNetDropped leave the default set when the container shares the
// host's network namespace: CAP_NET_RAW there opens AF_PACKET and raw
// sockets on the host's own interfaces (reading other processes' traffic,
// loopback included). --cap-add NET_RAW gives it back.
var hostNetDropped = []string{"CAP_NET_RAW"}

// Defaults is the capability set of a container on network ("host", the
// default, or "none") before --cap-add and --cap-drop: DefaultCaps, less
// CAP_NET_RAW on the host's network.
func Defaults(network string) []string {
	if network != "" && network != "host" {
		return slices.Clone(DefaultCaps)
	}
	var out []string
	for _, c := range DefaultCaps {
		if !slices.Contains(hostNetDropped, c) {
			out = append(out, c)
		}
	}
	return out
}

// allCaps lists every capability this kernel (or, failing that, the
// library) knows, as CAP_ names.
func allCaps() []string {
	list, err := capability.ListSupported()
	if err != nil {
		list = capability.ListKnown()
	}
	out := make([]string, 0, len(list))
	for _, c := range list {
		out = append(out, "CAP_"+strings.ToUpper(c.String()))
	}
	return out
}

// normCap turns "net_admin", "CAP_NET_ADMIN" or "all" into canonical form.
func normCap(s string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "ALL" {
		return u, nil
	}
	if !strings.HasPrefix(u, "CAP_") {
		u = "CAP_" + u
	}
	for _, c := range capability.ListKnown() {
		if "CAP_"+strings.ToUpper(c.String()) == u {
			return u, nil
		}
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownCapability, s)
}

// capSet applies docker's rules: start from the default set for network
// (or every capability when privileged), remove --cap-drop, then add
// --cap-add (so an explicit add wins over a drop); "ALL" works on both sides.
func capSet(network string, privileged bool, add, drop []string) ([]string, error) {
	base := Defaults(network)
	if privileged {
		base = allCaps()
	}
	addN, dropN := []string{}, []string{}
	for _, c := range add {
		n, err := normCap(c)
		if err != nil {
			return nil, err
		}
		addN = append(addN, n)
	}
	for _, c := range drop {
		n, err := normCap(c)
		if err != nil {
			return nil, err
		}
		dropN = append(dropN, n)
	}
	var out []string
	if !slices.Contains(dropN, "ALL") {
		for _, c := range base {
			if !slices.Contains(dropN, c) {
				out = append(out, c)
			}
		}
	}
	if slices.Contains(addN, "ALL") {
		addN = allCaps()
	}
	for _, c := range addN {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}
