package inspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	digest "github.com/opencontainers/go-digest"
)

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
