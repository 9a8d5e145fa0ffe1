package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

// checkImages: a base layer and an app image on top of it that overwrites
// /bin/sh (100 -> 150 bytes), adds /app/.env and a new setuid /usr/bin/newsu.
func checkImages(t *testing.T, user string) (img, base *memSource, rawSizes [2]int64) {
	l0 := []ent{{name: "bin/", typ: '5'}, {name: "bin/sh", size: 100, mode: 0o755},
		{name: "usr/", typ: '5'}, {name: "usr/bin/", typ: '5'}, {name: "usr/bin/passwd", size: 50, mode: 0o4755}}
	l1 := []ent{{name: "bin/", typ: '5'}, {name: "bin/sh", size: 150, mode: 0o755},
		{name: "app/", typ: '5'}, {name: ".wh.nothing"}, {name: "app/.env", size: 10},
		{name: "usr/bin/newsu", size: 20, mode: 0o2755}}
	img = newMemSource(t, user, nil, l0, l1)
	base = newMemSource(t, user, nil, l0)
	return img, base, [2]int64{int64(len(buildTar(t, l0))), int64(len(buildTar(t, l1)))}
}

func ptr[T any](v T) *T { return &v }

func TestCheckRules(t *testing.T) {
	ctx := context.Background()
	img, base, raw := checkImages(t, "")
	compressed := img.manifest.Layers[0].Size + img.manifest.Layers[1].Size
	uncompressed := raw[0] + raw[1]
	growth := img.manifest.Layers[1].Size // img = base + layer 1
	// By hand (see doc.go): /bin/sh has 2 copies, 100 + 150 = 250 wasted,
	// smallest 100; single copies /usr/bin/passwd 50, /app/.env 10,
	// /usr/bin/newsu 20, and the whiteout of a missing path counts 0.
	// Efficiency (100+50+10+20+0)/(250+50+10+20+0) = 180/330; user bytes
	// 150+10+20 = 180, so wasted percent = 100*250/180 = 138.9.
	cases := []struct {
		name     string
		user     string
		rules    Rules
		baseline bool
		rule     string
		pass     bool
	}{
		{"max_size pass", "", Rules{MaxSize: ptr(Size(compressed))}, false, "max_size", true},
		{"max_size fail", "", Rules{MaxSize: ptr(Size(compressed - 1))}, false, "max_size", false},
		{"max_size uncompressed pass", "", Rules{MaxSize: ptr(Size(uncompressed)), Uncompressed: true}, false, "max_size", true},
		{"max_size uncompressed fail", "", Rules{MaxSize: ptr(Size(uncompressed - 1)), Uncompressed: true}, false, "max_size", false},
		{"max_layers pass", "", Rules{MaxLayers: ptr(2)}, false, "max_layers", true},
		{"max_layers fail", "", Rules{MaxLayers: ptr(1)}, false, "max_layers", false},
		{"min_efficiency pass", "", Rules{MinEfficiency: ptr(180.0 / 330)}, false, "min_efficiency", true},
		{"min_efficiency fail", "", Rules{MinEfficiency: ptr(0.55)}, false, "min_efficiency", false},
		{"max_wasted_bytes pass", "", Rules{MaxWastedBytes: ptr(Size(250))}, false, "max_wasted_bytes", true},
		{"max_wasted_bytes fail", "", Rules{MaxWastedBytes: ptr(Size(249))}, false, "max_wasted_bytes", false},
		{"max_wasted_percent pass", "", Rules{MaxWastedPercent: ptr(139.0)}, false, "max_wasted_percent", true},
		{"max_wasted_percent fail", "", Rules{MaxWastedPercent: ptr(138.8)}, false, "max_wasted_percent", false},
		{"no_root_user unset", "", Rules{NoRootUser: true}, false, "no_root_user", false},
		{"no_root_user 0", "0", Rules{NoRootUser: true}, false, "no_root_user", false},
		{"no_root_user root:wheel", "root:wheel", Rules{NoRootUser: true}, false, "no_root_user", false},
		{"no_root_user 0:0", "0:0", Rules{NoRootUser: true}, false, "no_root_user", false},
		{"no_root_user app", "app", Rules{NoRootUser: true}, false, "no_root_user", true},
		{"no_root_user 1000:0", "1000:0", Rules{NoRootUser: true}, false, "no_root_user", true},
		{"forbid pass", "", Rules{Forbid: []string{"**/id_rsa"}}, false, "forbid", true},
		{"forbid fail", "", Rules{Forbid: []string{"**/.env"}}, false, "forbid", false},
		{"no_new_setuid fail", "", Rules{NoNewSetuid: true}, true, "no_new_setuid", false},
		{"no_new_setuid pass", "", Rules{NoNewSetuid: true}, false, "no_new_setuid", true},
		{"max_growth pass", "", Rules{MaxGrowth: ptr(Size(growth))}, true, "max_growth", true},
		{"max_growth fail", "", Rules{MaxGrowth: ptr(Size(growth - 1))}, true, "max_growth", false},
		{"max_growth uncompressed fail", "", Rules{MaxGrowth: ptr(Size(raw[1] - 1)), Uncompressed: true}, true, "max_growth", false},
		{"max_growth uncompressed pass", "", Rules{MaxGrowth: ptr(Size(uncompressed - raw[0])), Uncompressed: true}, true, "max_growth", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, b, _ := checkImages(t, c.user)
			var baseline Source = b
			if !c.baseline {
				baseline = src // compared with itself: nothing new, no growth
			}
			rep, err := Check(ctx, src, baseline, c.rules)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Results) != 1 {
				t.Fatalf("results %+v; want one", rep.Results)
			}
			r := rep.Results[0]
			if r.Rule != c.rule || r.Pass != c.pass || rep.Pass != c.pass {
				t.Errorf("result %+v (report pass %v); want rule %s pass %v", r, rep.Pass, c.rule, c.pass)
			}
			if r.Message == "" || r.Limit == "" {
				t.Errorf("result lacks message or limit: %+v", r)
			}
		})
	}
	_ = base
}

func TestCheckMessages(t *testing.T) {
	img, base, _ := checkImages(t, "")
	rep, err := Check(context.Background(), img, base, Rules{NoNewSetuid: true, Forbid: []string{"app/*"}})
	if err != nil {
		t.Fatal(err)
	}
	if m := rep.Results[0].Message; !strings.Contains(m, "/app/.env") {
		t.Errorf("forbid message %q does not name the path", m)
	}
	if m := rep.Results[1].Message; !strings.Contains(m, "/usr/bin/newsu (2755)") || strings.Contains(m, "passwd") {
		t.Errorf("setuid message %q", m)
	}
	var buf bytes.Buffer
	if err := WriteCheckTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "FAIL: 2 rules, 2 failed") {
		t.Errorf("table:\n%s", buf.String())
	}
}

func TestCheckErrors(t *testing.T) {
	img, _, _ := checkImages(t, "")
	if _, err := Check(context.Background(), img, nil, Rules{NoNewSetuid: true}); !errors.Is(err, ErrNoBaseline) {
		t.Errorf("no baseline: %v", err)
	}
	if _, err := Check(context.Background(), img, nil, Rules{MaxGrowth: ptr(Size(1))}); !errors.Is(err, ErrNoBaseline) {
		t.Errorf("no baseline: %v", err)
	}
	if _, err := Check(context.Background(), img, nil, Rules{MinEfficiency: ptr(95.0)}); !errors.Is(err, ErrBadRules) {
		t.Errorf("efficiency 95: %v", err)
	}
	if _, err := Check(context.Background(), img, nil, Rules{Forbid: []string{"[x"}}); !errors.Is(err, ErrBadRules) {
		t.Errorf("bad glob: %v", err)
	}
}

// Layer streams are read only when a rule needs them: a compressed size
// and layer count check works on an image whose blobs are unreadable.
func TestCheckNeedsNoBlobs(t *testing.T) {
	img, _, _ := checkImages(t, "app")
	img.blobs = [][]byte{[]byte("corrupt"), []byte("corrupt")}
	rep, err := Check(context.Background(), img, nil, Rules{MaxSize: ptr(Size(1 << 20)), MaxLayers: ptr(5), NoRootUser: true})
	if err != nil || !rep.Pass {
		t.Fatalf("rep %+v err %v", rep, err)
	}
	if _, err := Check(context.Background(), img, nil, Rules{Forbid: []string{"**"}}); err == nil {
		t.Error("forbid over corrupt blobs succeeded")
	}
}

func TestParseRules(t *testing.T) {
	yamlRules := "max_size: 50MB\nmax_layers: 10\nmin_efficiency: 0.9\nmax_wasted_bytes: 1MiB\nmax_wasted_percent: 20\n" +
		"no_root_user: true\nforbid: ['**/id_rsa', '**/.env']\nno_new_setuid: true\nmax_growth: 5000000\nuncompressed: true\n"
	jsonRules := `{"max_size":"50MB","max_layers":10,"min_efficiency":0.9,"max_wasted_bytes":"1MiB","max_wasted_percent":20,` +
		`"no_root_user":true,"forbid":["**/id_rsa","**/.env"],"no_new_setuid":true,"max_growth":5000000,"uncompressed":true}`
	for name, in := range map[string]string{"yaml": yamlRules, "json": jsonRules} {
		t.Run(name, func(t *testing.T) {
			r, err := ParseRules([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if *r.MaxSize != 50_000_000 || *r.MaxLayers != 10 || *r.MinEfficiency != 0.9 || *r.MaxWastedBytes != 1<<20 ||
				*r.MaxWastedPercent != 20 || !r.NoRootUser || len(r.Forbid) != 2 || r.Forbid[1] != "**/.env" ||
				!r.NoNewSetuid || *r.MaxGrowth != 5_000_000 || !r.Uncompressed {
				t.Errorf("rules %+v", r)
			}
		})
	}
	for _, bad := range []string{"max_sise: 1", "max_size: 12XB", "min_efficiency: 2", "max_layers: -1", "max_size: -5"} {
		if _, err := ParseRules([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A typo in a rules file is named with its line, in YAML's terms.
func TestParseRulesUnknownFieldLine(t *testing.T) {
	for in, want := range map[string]string{
		"max_layers: 1\nmax_sise: 1\n":         "rules file line 2: unknown field max_sise",
		"{\"max_layers\": 1,\n \"forbd\": []}": "rules file line 2: unknown field forbd",
		"- max_size: 1\n":                      "rules file line 1: want a mapping",
	} {
		_, err := ParseRules([]byte(in))
		if !errors.Is(err, ErrBadRules) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "JSON") {
			t.Errorf("ParseRules(%q) = %v, want %q", in, err, want)
		}
	}
	if r, err := ParseRules([]byte("")); err != nil || !r.Empty() {
		t.Errorf("empty rules: %+v %v", r, err)
	}
	if r, err := ParseRules([]byte("uncompressed: true\n")); err != nil || !r.Empty() {
		t.Errorf("uncompressed alone is a rule: %+v %v", r, err)
	}
}

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"123", 123}, {"12B", 12}, {"1KB", 1000}, {"50MB", 50_000_000}, {"50mb", 50_000_000},
		{"1.5GB", 1_500_000_000}, {"1KiB", 1024}, {"2MiB", 2 << 20}, {"1GiB", 1 << 30}, {"1 TiB", 1 << 40},
		{"10 M", 10_000_000}, {"0.5KiB", 512},
	}
	for _, c := range cases {
		got, err := ParseSize(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "MB", "-1", "1XB", "1.2.3MB", "1e3", "99999999999TB"} {
		if _, err := ParseSize(bad); !errors.Is(err, ErrBadSize) {
			t.Errorf("ParseSize(%q) err = %v; want ErrBadSize", bad, err)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"50MB", "1.5GiB", "0", "12 kb", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

func TestJUnit(t *testing.T) {
	img, base, _ := checkImages(t, "")
	rules := Rules{MaxLayers: ptr(5), NoRootUser: true, Forbid: []string{"**/id_rsa", "**/.env"}, NoNewSetuid: true, MaxWastedBytes: ptr(Size(1 << 20))}
	rep, err := Check(context.Background(), img, base, rules)
	if err != nil {
		t.Fatal(err)
	}
	rep.Image = "example.com/app:1.0"
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "check-junit.xml", buf.Bytes())
	golden(t, "check.json", jsonBytes(t, rep))
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("parse junit: %v\n%s", err, buf.String())
	}
	// 6 rules; failing: no_root_user (unset), forbid **/.env, no_new_setuid.
	if len(doc.Suites) != 1 {
		t.Fatalf("%d suites", len(doc.Suites))
	}
	s := doc.Suites[0]
	failed := 0
	names := map[string]bool{}
	for _, c := range s.Cases {
		names[c.Name] = true
		if c.Failure != nil {
			failed++
			if c.Failure.Message == "" {
				t.Errorf("failure of %s has no message", c.Name)
			}
		}
	}
	if s.Name != "example.com/app:1.0" || s.Tests != 6 || len(s.Cases) != 6 || s.Failures != 3 || failed != 3 ||
		doc.Tests != 6 || doc.Failures != 3 {
		t.Errorf("suite %q tests %d cases %d failures %d/%d; doc %d/%d", s.Name, s.Tests, len(s.Cases), s.Failures, failed, doc.Tests, doc.Failures)
	}
	for _, n := range []string{"max_layers", "no_root_user", "forbid **/id_rsa", "forbid **/.env", "no_new_setuid", "max_wasted_bytes"} {
		if !names[n] {
			t.Errorf("no testcase %q in %v", n, names)
		}
	}
}

// Every rule value and limit but a user name and a glob is a JSON number.
func TestCheckJSONNumbers(t *testing.T) {
	img, base, _ := checkImages(t, "")
	rules := Rules{MaxSize: ptr(Size(50_000_000)), MinEfficiency: ptr(0.5), MaxWastedPercent: ptr(12.5),
		MaxGrowth: ptr(Size(1000)), NoRootUser: true, Forbid: []string{"**/.env"}}
	rep, err := Check(context.Background(), img, base, rules)
	if err != nil {
		t.Fatal(err)
	}
	rep.Image = "example.com/app:1.0"
	b := jsonBytes(t, rep)
	golden(t, "check-numbers.json", b)
	var back struct {
		Results []struct {
			Rule         string
			Value, Limit any
		}
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, r := range back.Results {
		_, vnum := r.Value.(float64)
		_, lnum := r.Limit.(float64)
		wantNum := r.Rule != "no_root_user"
		if vnum != wantNum || lnum != (wantNum && r.Rule != "forbid") {
			t.Errorf("%s: value %#v limit %#v", r.Rule, r.Value, r.Limit)
		}
	}
}

// Waste with no bytes above the first layer is +Inf % for dive, which
// fails every max_wasted_percent; so it does here.
func TestCheckWastedPercentNoUserBytes(t *testing.T) {
	src := newMemSource(t, "", nil, []ent{{name: "foo", size: 4}}, []ent{{name: ".wh.foo"}})
	rep, err := Check(context.Background(), src, nil, Rules{MaxWastedPercent: ptr(1000.0)})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Pass || rep.Pass || !strings.Contains(r.Message, "+Inf") {
		t.Errorf("result %+v", r)
	}
	clean := newMemSource(t, "", nil, []ent{{name: "foo", size: 4}}, []ent{{name: "bar", size: 4}})
	if rep, err := Check(context.Background(), clean, nil, Rules{MaxWastedPercent: ptr(0.0)}); err != nil || !rep.Pass {
		t.Errorf("no waste: %+v %v", rep, err)
	}
}
