package inspect

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The two Debian layers as two images: A is layer 0 alone, B is both.
func TestDiffDebianLayers(t *testing.T) {
	full := debian(t)
	a := subsetSource{Source: full, n: 1}
	rep, err := Diff(context.Background(), a, full, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]PathChange{}
	for _, c := range rep.Paths {
		byPath[c.Path] = c
	}
	expect := map[string]string{
		"/etc/motd":            Removed,
		"/usr/share/man":       Removed,
		"/var/log/dpkg.log":    Removed,
		"/var/log/apt":         Removed,
		"/usr/bin/busybox":     Added,
		"/var/log/README":      Added,
		"/var/lib/dpkg/status": Changed,
		"/usr/share/doc/busybox-static/copyright": Added,
	}
	for p, want := range expect {
		if got := byPath[p].Change; got != want {
			t.Errorf("%s: %q; want %q", p, got, want)
		}
	}
	if _, size := debianFacts(t); byPath["/usr/bin/busybox"].B == nil || byPath["/usr/bin/busybox"].B.Size != size || byPath["/usr/bin/busybox"].SizeDelta != size {
		c := byPath["/usr/bin/busybox"]
		t.Errorf("busybox: %+v", c)
	}
	if c := byPath["/var/lib/dpkg/status"]; c.SizeDelta != c.B.Size-c.A.Size || !strings.Contains(strings.Join(c.Fields, ","), "digest") {
		t.Errorf("status: %+v", c)
	}
	// /usr/share/man and everything under it is gone; /var/log keeps only
	// what layer 1 put there.
	var manRemoved int
	for _, c := range rep.Paths {
		if strings.HasPrefix(c.Path, "/usr/share/man/") {
			if c.Change != Removed {
				t.Errorf("%s: %s", c.Path, c.Change)
			}
			manRemoved++
		}
		if strings.HasPrefix(c.Path, "/var/log/") && c.Change != Removed && c.Path != "/var/log/README" {
			t.Errorf("/var/log not emptied: %s %s", c.Path, c.Change)
		}
	}
	if manRemoved < 100 {
		t.Errorf("%d paths under /usr/share/man removed; want the whole tree", manRemoved)
	}
	s := rep.Summary
	if s.Added+s.Removed+s.Changed != len(rep.Paths) || s.SizeDelta != s.AddedBytes-s.RemovedBytes+changedDelta(rep) {
		t.Errorf("summary %+v does not add up over %d paths", s, len(rep.Paths))
	}
	var buf bytes.Buffer
	if err := WriteDiffTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, imageGolden(t, "debian-diff.txt"), buf.Bytes())
}

func changedDelta(rep DiffReport) int64 {
	var d int64
	for _, c := range rep.Paths {
		if c.Change == Changed {
			d += c.SizeDelta
		}
	}
	return d
}

func TestDiffMetadata(t *testing.T) {
	a := newMemSource(t, "", nil, []ent{{name: "f", size: 3}, {name: "g", size: 3, mode: 0o755}, {name: "h", size: 1}, {name: "l", typ: '2', link: "f"},
		{name: "p", size: 4}, {name: "q", typ: '1', link: "p"}})
	b := newMemSource(t, "", nil, []ent{{name: "f", size: 3}, {name: "g", size: 3, mode: 0o4755, uid: 7}, {name: "h", size: 2}, {name: "l", typ: '2', link: "g"},
		{name: "q", size: 4}, {name: "p", typ: '1', link: "q"}})
	rep, err := Diff(context.Background(), a, b, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range rep.Paths {
		got[c.Path] = c.Change + " " + strings.Join(c.Fields, ",")
	}
	want := map[string]string{"/g": "changed mode,uid", "/h": "changed size,digest", "/l": "changed link_target"}
	if len(got) != len(want) {
		t.Errorf("changes %v; want %v", got, want)
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %q; want %q", p, got[p], w)
		}
	}
}

func TestDiffLayerLists(t *testing.T) {
	full := debian(t)
	a := subsetSource{Source: full, n: 1}
	rep, err := Diff(context.Background(), a, full, DiffOptions{Layers: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := full.Config().RootFS.DiffIDs
	l := rep.Layers
	if rep.Paths != nil || l == nil || len(l.Shared) != 1 || l.Shared[0] != ids[0].String() ||
		len(l.Added) != 1 || l.Added[0] != ids[1].String() || len(l.Removed) != 0 {
		t.Fatalf("layer diff %+v", rep)
	}
	back, err := Diff(context.Background(), full, a, DiffOptions{Layers: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Layers.Removed) != 1 || back.Layers.Removed[0] != ids[1].String() || len(back.Layers.Added) != 0 {
		t.Errorf("reverse layer diff %+v", back.Layers)
	}
	var buf bytes.Buffer
	if err := WriteDiffTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, imageGolden(t, "debian-diff-layers.txt"), buf.Bytes())
}

// The JSON of a diff, pinned: snake_case names, sizes as numbers.
func TestDiffJSONGolden(t *testing.T) {
	a := newMemSource(t, "", nil, []ent{{name: "f", size: 3}, {name: "g", size: 3, mode: 0o755}, {name: "gone", size: 9}})
	b := newMemSource(t, "", nil, []ent{{name: "f", size: 3}, {name: "g", size: 5, mode: 0o4755, uid: 7}, {name: "new", size: 11}})
	rep, err := Diff(context.Background(), a, b, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "diff.json", jsonBytes(t, rep))
}
