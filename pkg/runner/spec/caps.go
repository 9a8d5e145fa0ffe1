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

// capSet applies docker's rules: start from the default set (or every
// capability when privileged), remove --cap-drop, then add --cap-add (so an
// explicit add wins over a drop); "ALL" works on both sides.
func capSet(privileged bool, add, drop []string) ([]string, error) {
	base := DefaultCaps
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
