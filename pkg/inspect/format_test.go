package inspect

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestTableText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/usr/bin/ls", "/usr/bin/ls"},
		{"/caf\u00e9 1", "/caf\u00e9 1"},
		{"/a\x1b[31mred", `/a\x1b[31mred`},
		{"/a\nfake row", `/a\nfake row`},
		{"/a\tb\r", `/a\tb\r`},
		{"/back\\slash", `/back\\slash`},
		{"/bidi\u202egpj.exe", `/bidi\u202egpj.exe`},
		{"/bad\xffutf8", `/bad\xffutf8`},
		{"/c1\u009b", `/c1\u009b`},
	}
	for _, tt := range tests {
		if got := tableText(tt.in); got != tt.want {
			t.Errorf("tableText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestTablesEscapeNames checks a hostile file name can neither send an
// escape sequence to the terminal nor add a row to the files and diff
// tables.
func TestTablesEscapeNames(t *testing.T) {
	evil := "x\x1b]0;pwned\x07\n-rw-r--r--  0:0  1  sha256:fake  1  /etc/shadow"
	a := newMemSource(t, "", nil, []ent{{name: "f", size: 1}})
	b := newMemSource(t, "", nil, []ent{{name: "f", size: 1}, {name: evil, size: 1}, {name: "l", typ: '2', link: "t\x1b[2J"}})
	files, err := Files(context.Background(), b, FilesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ft bytes.Buffer
	if err := WriteFilesTable(&ft, files); err != nil {
		t.Fatal(err)
	}
	diff, err := Diff(context.Background(), a, b, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var dt bytes.Buffer
	if err := WriteDiffTable(&dt, diff); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ft.String(), `/l -> t\x1b[2J`) {
		t.Errorf("files table does not show the escaped link target:\n%s", ft.String())
	}
	for name, out := range map[string]string{"files": ft.String(), "diff": dt.String()} {
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("%s table holds a raw control character:\n%q", name, out)
		}
		if strings.Contains(out, "\n-rw-r--r--  0:0  1  sha256:fake") {
			t.Errorf("%s table has a fake row:\n%s", name, out)
		}
		if !strings.Contains(out, `x\x1b]0;pwned\x07\n-rw-r--r--`) {
			t.Errorf("%s table does not show the escaped names:\n%s", name, out)
		}
	}
}
