package inspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	digest "github.com/opencontainers/go-digest"
	"io"
	"sort"
	"text/tabwriter"
)

// HumanSize renders bytes with decimal units, as docker does: "1.2 MB".
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

func shortDigest(d string) string {
	const prefix = "sha256:"
	if len(d) > len(prefix)+12 && d[:len(prefix)] == prefix {
		return d[len(prefix) : len(prefix)+12]
	}
	return d
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

func sortSlice[T any](s []T, less func(a, b T) bool) {
	sort.SliceStable(s, func(i, j int) bool { return less(s[i], s[j]) })
}

// WriteJSON writes v as indented JSON with a final newline, without
// escaping <, > and & (created_by lines are shell commands).
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteRawJSON pretty-prints a raw manifest, index or config (for
// `inspect manifest|config|index`) followed by a "digest: ..." line
// computed over the raw bytes as stored.
func WriteRawJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("pretty-print json: %w", err)
	}
	buf.WriteByte('\n')
	fmt.Fprintf(&buf, "digest: %s\n", digest.FromBytes(raw))
	_, err := w.Write(buf.Bytes())
	return err
}
