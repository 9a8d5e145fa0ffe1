package inspect

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// WriteJUnit writes the report as JUnit XML: one testsuite named after the
// image, one testcase per rule (classname "ctr-lite.check"; a forbid rule
// is named "forbid <glob>"), a failed rule carrying a <failure>. It is
// written out rather than through encoding/xml, whose tables every
// ctr-lite process would otherwise build at start-up; the output is the
// same (junit_ref_test.go).
func WriteJUnit(w io.Writer, rep CheckReport) error {
	var b strings.Builder
	n, failed := len(rep.Results), rep.Failed()
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<testsuites name="ctr-lite check" tests="%d" failures="%d" errors="0">`+"\n", n, failed)
	fmt.Fprintf(&b, `  <testsuite name="%s" tests="%d" failures="%d" errors="0" skipped="0" time="0">`, xmlEscape(rep.Image), n, failed)
	for _, r := range rep.Results {
		name := r.Rule
		if r.Rule == "forbid" {
			name += " " + show(r.Limit)
		}
		fmt.Fprintf(&b, "\n    <testcase name=\"%s\" classname=\"ctr-lite.check\" time=\"0\">", xmlEscape(name))
		switch {
		case !r.Pass:
			text := fmt.Sprintf("rule %s: value %s, limit %s: %s", r.Rule, show(r.Value), show(r.Limit), r.Message)
			fmt.Fprintf(&b, "\n      <failure message=\"%s\" type=\"%s\">%s</failure>\n    ",
				xmlEscape(r.Message), xmlEscape(r.Rule), xmlEscape(text))
		case r.Message != "":
			fmt.Fprintf(&b, "\n      <system-out>%s</system-out>\n    ", xmlEscape(r.Message))
		}
		b.WriteString("</testcase>")
	}
	if n > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("</testsuite>\n</testsuites>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

// xmlEscape escapes s for an attribute value or character data as
// encoding/xml does: the five markup characters, tab, newline and
// carriage return as character references, and anything XML 1.0 cannot
// hold (invalid UTF-8, most control characters) as U+FFFD.
func xmlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		i += width
		switch r {
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\t':
			b.WriteString("&#x9;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			if !xmlChar(r) || (r == utf8.RuneError && width == 1) {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// xmlChar reports whether XML 1.0 allows r (its Char production).
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
