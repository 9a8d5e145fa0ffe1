package units

import (
	"fmt"
	"strings"
)

// HumanSize renders a byte count with decimal units: "512 B", "1.2 MB".
func HumanSize(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	v, i := float64(n), 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	s := fmt.Sprintf("%d B", n)
	if i > 0 {
		s = fmt.Sprintf("%.1f %s", v, units[i])
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ShortDigest is the first 12 hex digits of "sha256:<hex>" (or of a bare
// hex string), as docker prints image and layer IDs.
func ShortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 {
		d = d[i+1:]
	}
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}
