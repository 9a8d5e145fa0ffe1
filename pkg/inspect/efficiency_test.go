package inspect

import (
	"bytes"
	"context"
	"testing"
)

// An image with a known amount of waste, worked out by hand with dive's
// rules (see doc.go):
//
//	layer 0: /a/big 1000, /a/keep 10, /b/dir/x 300, /b/dir/y 200, /c 50, empty dir /e
//	layer 1: /a/big 400 (overwrite), whiteout /c, whiteout /b/dir, empty dir /e again
//	layer 2: /a/big 100 (overwrite)
//
//	/a/big   3 copies: 1000+400+100 = 1500 wasted, smallest copy 100
//	/c       2 copies: 50 + whiteout of a file (counts 0) = 50 wasted, smallest 0
//	/e       2 copies of an empty dir: 0 bytes (listed nowhere)
//	/b/dir   the whiteout is its only leaf: 300+200 = 500, one copy, not waste
//	/a/keep 10, /b/dir/x 300, /b/dir/y 200: one copy each
//
//	wasted bytes = 1500 + 50 = 1550
//	efficiency   = (100+0+0+500+10+300+200) / (1500+50+0+500+10+300+200) = 1110/2560
//	total bytes  = 1560 + 400 + 100 = 2060; user bytes (above layer 0) = 500
//	wasted %     = 100 * 1550 / 500 = 310
//	deleted      = /c 50 + /b/dir 500 = 550
func wastefulImage(t testing.TB) Source {
	return newMemSource(t, "", nil,
		[]ent{{name: "a/", typ: '5'}, {name: "a/big", size: 1000}, {name: "a/keep", size: 10},
			{name: "b/", typ: '5'}, {name: "b/dir/", typ: '5'}, {name: "b/dir/x", size: 300}, {name: "b/dir/y", size: 200},
			{name: "c", size: 50}, {name: "e/", typ: '5'}},
		[]ent{{name: "a/", typ: '5'}, {name: "a/big", size: 400}, {name: ".wh.c"}, {name: "b/", typ: '5'}, {name: "b/.wh.dir"},
			{name: "e/", typ: '5'}},
		[]ent{{name: "a/", typ: '5'}, {name: "a/big", size: 100}},
	)
}

func TestEfficiencyKnownWaste(t *testing.T) {
	rep, err := Efficiency(context.Background(), wastefulImage(t))
	if err != nil {
		t.Fatal(err)
	}
	if rep.WastedBytes != 1550 {
		t.Errorf("wasted bytes = %d; want 1550", rep.WastedBytes)
	}
	if want := 1110.0 / 2560.0; rep.Efficiency != want {
		t.Errorf("efficiency = %v; want %v", rep.Efficiency, want)
	}
	if rep.TotalBytes != 2060 || rep.UserBytes != 500 {
		t.Errorf("total %d user %d; want 2060 500", rep.TotalBytes, rep.UserBytes)
	}
	if rep.WastedPercent != 310 {
		t.Errorf("wasted percent = %v; want 310", rep.WastedPercent)
	}
	if rep.DeletedBytes != 550 {
		t.Errorf("deleted bytes = %d; want 550", rep.DeletedBytes)
	}
	want := []WastedPath{{"/a/big", 3, 1500}, {"/c", 2, 50}}
	if len(rep.WastedPaths) != len(want) {
		t.Fatalf("wasted paths = %+v; want %+v", rep.WastedPaths, want)
	}
	for i := range want {
		if rep.WastedPaths[i] != want[i] {
			t.Errorf("wasted path %d = %+v; want %+v", i, rep.WastedPaths[i], want[i])
		}
	}
}

func TestEfficiencyGolden(t *testing.T) {
	rep, err := Efficiency(context.Background(), wastefulImage(t))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteEfficiencyTable(&buf, rep, 0); err != nil {
		t.Fatal(err)
	}
	golden(t, "wasteful-efficiency.txt", buf.Bytes())
	golden(t, "wasteful-efficiency.json", jsonBytes(t, rep))
	// --top N keeps the N most wasteful paths in the JSON too.
	top := rep.Top(1)
	golden(t, "wasteful-efficiency-top1.json", jsonBytes(t, top))
	if len(top.WastedPaths) != 1 || top.WastedPaths[0] != rep.WastedPaths[0] || top.WastedBytes != rep.WastedBytes {
		t.Errorf("Top(1) = %+v", top)
	}
	if all := rep.Top(0); len(all.WastedPaths) != len(rep.WastedPaths) {
		t.Errorf("Top(0) kept %d of %d paths", len(all.WastedPaths), len(rep.WastedPaths))
	}
}

func TestEfficiencyNoWaste(t *testing.T) {
	src := newMemSource(t, "", nil, []ent{{name: "a", size: 5}}, []ent{{name: "b", size: 7}})
	rep, err := Efficiency(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Efficiency != 1 || rep.WastedBytes != 0 || rep.WastedPercent != 0 || len(rep.WastedPaths) != 0 {
		t.Errorf("clean image: %+v", rep)
	}
}

func BenchmarkEfficiencyDebian(b *testing.B) {
	src := debian(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Efficiency(ctx, src); err != nil {
			b.Fatal(err)
		}
	}
}

// A directory whiteout is sized as dive sizes it: on the lower layers
// stacked without their opaque markers, so /var/log/b, hidden by the
// opaque directory, still counts (dive 0.13.1 reports 71.8750 %).
func TestEfficiencyOpaqueThenWhiteoutAsDive(t *testing.T) {
	src := newMemSource(t, "", nil,
		[]ent{{name: "var/", typ: '5'}, {name: "var/log/", typ: '5'}, {name: "var/log/a", size: 900}, {name: "var/log/b", size: 1100}},
		[]ent{{name: "var/", typ: '5'}, {name: "var/log/", typ: '5'}, {name: "var/log/.wh..wh..opq"}, {name: "var/log/a", size: 50}},
		[]ent{{name: "var/", typ: '5'}, {name: "var/.wh.log"}},
	)
	rep, err := Efficiency(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Efficiency != 2300.0/3200.0 || rep.WastedBytes != 950 {
		t.Errorf("efficiency %v wasted %d; want %v (dive's 71.8750 %%) and 950", rep.Efficiency, rep.WastedBytes, 2300.0/3200.0)
	}
	if rep.DeletedBytes != 900+1100+50 {
		t.Errorf("deleted bytes %d; want 2050 (a and b under the opaque marker, then the new a)", rep.DeletedBytes)
	}
}
