package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/inspect"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/opencontainers/go-digest"
)

// pushDebianBase pushes an image made of the Debian image's first
// layer alone, so diff has a real before and after.
func pushDebianBase(t *testing.T, reg *testutil.Registry) string {
	t.Helper()
	img := testutil.Image(t, testutil.Debian)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	base, err := mutate.AppendLayers(empty.Image, layers[0])
	if err != nil {
		t.Fatal(err)
	}
	testutil.PushImage(t, reg, "debian:base", base)
	return reg.Host + "/debian:base"
}

func TestInspectStoredAndRemote(t *testing.T) {
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	e := newEnv(t)
	e.must("pull", refs["debian"])

	out := e.must("inspect", "layers", refs["debian"])
	for _, want := range []string{"debootstrap", "busybox-static", "total"} {
		if !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
			t.Errorf("inspect layers lacks %q:\n%s", want, out)
		}
	}
	var layers inspect.LayersReport
	if err := json.Unmarshal([]byte(e.must("inspect", "layers", "--json", refs["debian"])), &layers); err != nil {
		t.Fatal(err)
	}
	if len(layers.Layers) != 2 || layers.Layers[0].FileCount < 1000 {
		t.Errorf("layers --json: %+v", layers)
	}
	// The stored bytes alone on stdout: their sha256 is the digest.
	man := e.ctl("inspect", "manifest", refs["debian"])
	if d := digest.FromString(man.out); man.code != 0 || !strings.Contains(man.out, `"layers"`) || man.err != "digest: "+d.String()+"\n" ||
		!strings.Contains(e.must("images", "--json"), d.String()) {
		t.Errorf("inspect manifest: %s", man)
	}
	if out := e.must("inspect", "manifest", "--pretty", refs["debian"]); !strings.Contains(out, "\n  \"layers\": [") {
		t.Errorf("inspect manifest --pretty:\n%s", out)
	}
	var layersJSON struct {
		Config struct{ Digest digest.Digest }
	}
	if err := json.Unmarshal([]byte(man.out), &layersJSON); err != nil {
		t.Fatal(err)
	}
	if out := e.must("inspect", "config", refs["debian"]); !strings.Contains(out, `"diff_ids"`) || digest.FromString(out) != layersJSON.Config.Digest {
		t.Errorf("inspect config is not the stored bytes of %s:\n%.300s", layersJSON.Config.Digest, out)
	}
	if r := e.ctl("inspect", "index", refs["debian"]); r.code == 0 || !strings.Contains(r.err, "no index") {
		t.Errorf("inspect index of a single-platform image: %s", r)
	}
	if out := e.must("inspect", "history", refs["debian"]); !strings.Contains(out, "busybox") {
		t.Errorf("inspect history:\n%s", out)
	}
	out = e.must("inspect", "files", "--layer", "1", refs["debian"])
	for _, want := range [][2]string{{"whiteout", "/etc/motd"}, {"whiteout", "/usr/share/man"}, {"opaque", "/var/log"}} {
		if !hasLine(out, want[0], want[1]) {
			t.Errorf("inspect files --layer 1 lacks a %s line for %s:\n%.1500s", want[0], want[1], out)
		}
	}
	if out := e.must("inspect", "files", refs["debian"], "etc/motd"); strings.Contains(out, "etc/motd") {
		t.Errorf("merged tree still has etc/motd:\n%s", out)
	}
	if out := e.must("inspect", "efficiency", refs["debian"]); !strings.Contains(strings.ToLower(out), "efficiency") {
		t.Errorf("inspect efficiency:\n%s", out)
	}

	// --remote reads the registry and stores nothing.
	r := newEnv(t)
	if out := r.must("inspect", "layers", "--remote", refs["busybox"]); !strings.Contains(out, "total") {
		t.Errorf("remote inspect layers:\n%s", out)
	}
	blobs, _ := os.ReadDir(filepath.Join(r.root, "content", "blobs", "sha256"))
	if len(blobs) != 0 {
		t.Errorf("inspect --remote stored %d blobs", len(blobs))
	}
	if out := r.must("images", "-q"); out != "" {
		t.Errorf("inspect --remote named images: %s", out)
	}
}

// hasLine reports whether a line of out starts with kind and ends with path.
func hasLine(out, kind, path string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, kind) && strings.HasSuffix(strings.TrimSpace(l), " "+path) {
			return true
		}
	}
	return false
}

func TestDiffTwoImages(t *testing.T) {
	reg, refs := corpusRegistry(t, testutil.RegistryOptions{})
	base := pushDebianBase(t, reg)
	e := newEnv(t)
	out := e.must("diff", base, refs["debian"])
	for _, want := range []string{"etc/motd", "usr/share/man", "busybox"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %s:\n%.2000s", want, out)
		}
	}
	var rep inspect.DiffReport
	if err := json.Unmarshal([]byte(e.must("diff", "--layers", "--json", base, refs["debian"])), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Layers == nil || len(rep.Layers.Shared) != 1 || len(rep.Layers.Added) != 1 || len(rep.Layers.Removed) != 0 {
		t.Errorf("diff --layers: %+v", rep.Layers)
	}
}

func TestCheckExitCodesAndReports(t *testing.T) {
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	e := newEnv(t)
	deb := refs["debian"]
	e.must("pull", deb)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(rules, []byte("max_layers: 1\nforbid: ['**/passwd']\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"all hold", []string{"--max-size", "100MB", "--max-layers", "2"}, 0, "max_size"},
		{"too big", []string{"--max-size", "10MB"}, 1, "max_size"},
		{"too big uncompressed", []string{"--max-size", "100MB", "--uncompressed"}, 1, "max_size"},
		{"runs as root", []string{"--no-root-user"}, 1, "no_root_user"},
		{"forbidden path", []string{"--forbid", "**/shadow"}, 1, "forbid"},
		{"absent path", []string{"--forbid", "**/id_rsa"}, 0, "forbid"},
		{"rules file", []string{"--rules", rules}, 1, "max_layers"},
		{"flag beats file", []string{"--rules", rules, "--max-layers", "3"}, 1, "forbid"},
		{"bad size", []string{"--max-size", "ten"}, 2, "max-size"},
		{"growth needs baseline", []string{"--max-growth", "1MB"}, 2, "baseline"},
		{"efficiency", []string{"--min-efficiency", "50%"}, 0, "min_efficiency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.ctl(append([]string{"check", deb}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.out+r.err, tt.want) {
				t.Fatalf("want exit %d mentioning %q: %s", tt.code, tt.want, r)
			}
		})
	}
	if r := e.ctl("check", "127.0.0.1:1/nothing:here", "--max-layers", "1"); r.code != 2 {
		t.Errorf("unreadable image: %s", r)
	}
	junit := filepath.Join(t.TempDir(), "report.xml")
	r := e.ctl("check", deb, "--max-size", "10MB", "--max-layers", "5", "--junit", junit, "--json")
	if r.code != 1 {
		t.Fatalf("check: %s", r)
	}
	var rep inspect.CheckReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil || rep.Pass || len(rep.Results) != 2 {
		t.Fatalf("check --json: %v %+v", err, rep)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatalf("junit is not XML: %v\n%s", err, b)
	}
	if len(suites.Suites) != 1 {
		t.Fatalf("junit has %d test suites:\n%s", len(suites.Suites), b)
	}
	s := suites.Suites[0]
	if s.Name != deb || s.Tests != 2 || s.Failures != 1 || len(s.Cases) != 2 || s.Cases[0].Failure == nil || s.Cases[1].Failure != nil {
		t.Errorf("junit: %+v\n%s", s, b)
	}
}
