package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/inspect"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// diveBin finds dive 0.13.1 (`make deps` installs it with go install). A
// missing dive skips the comparison, and fails it under CI=true.
func diveBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("dive"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "dive")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "dive is not installed (make deps: go install github.com/wagoodman/dive@v0.13.1)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// diveReport is what dive --json writes that we compare.
type diveReport struct {
	Layer []struct {
		SizeBytes int64 `json:"sizeBytes"`
	} `json:"layer"`
	Image struct {
		SizeBytes        int64   `json:"sizeBytes"`
		InefficientBytes int64   `json:"inefficientBytes"`
		EfficiencyScore  float64 `json:"efficiencyScore"`
		FileReference    []struct {
			Count     int    `json:"count"`
			SizeBytes int64  `json:"sizeBytes"`
			File      string `json:"file"`
		} `json:"fileReference"`
	} `json:"image"`
}

// synthetic are images with the kinds of waste dive counts, written as
// docker-save tarballs.
func syntheticImages(t *testing.T) map[string]string {
	t.Helper()
	file := func(name string, n int) testutil.Entry { return testutil.File(name, strings.Repeat("z", n)) }
	cases := map[string][][]testutil.Entry{
		"overwrites": {
			{testutil.Dir("app"), file("app/bin", 5000), file("app/conf", 300), file("keep", 70)},
			{testutil.Dir("app"), file("app/bin", 7000)},
			{testutil.Dir("app"), file("app/bin", 100), file("app/conf", 0)},
		},
		"deletes": {
			{testutil.Dir("tmp"), file("tmp/cache", 4000), testutil.Dir("var"), testutil.Dir("var/log"), file("var/log/a", 900), file("var/log/b", 1100), file("etc", 10)},
			{testutil.Dir("tmp"), testutil.File("tmp/.wh.cache", ""), testutil.Dir("var"), testutil.File("var/.wh.log", "")},
		},
		"links and empty files": {
			{testutil.Dir("bin"), file("bin/busybox", 2000), testutil.Hardlink("bin/sh", "bin/busybox"), testutil.Symlink("bin/ls", "busybox"), file("lock", 0)},
			{testutil.Dir("bin"), testutil.Hardlink("bin/sh", "bin/busybox"), testutil.Symlink("bin/ls", "busybox"), file("lock", 0), file("new", 123)},
		},
		"one layer": {{file("only", 42)}},
		"opaque directory": {
			{testutil.Dir("var"), testutil.Dir("var/log"), file("var/log/a", 900), file("var/log/b", 1100)},
			{testutil.Dir("var"), testutil.Dir("var/log"), testutil.File("var/log/.wh..wh..opq", ""), file("var/log/a", 50)},
			{testutil.Dir("var"), testutil.File("var/.wh.log", "")},
		},
	}
	dir := t.TempDir()
	out := map[string]string{}
	for cname, layers := range cases {
		img := v1.Image(empty.Image)
		for _, ents := range layers {
			var err error
			if img, err = mutate.AppendLayers(img, static.NewLayer(testutil.Layer(t, ents), types.DockerUncompressedLayer)); err != nil {
				t.Fatal(err)
			}
		}
		tag := "synthetic/" + strings.ReplaceAll(cname, " ", "-") + ":1"
		ref, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, strings.ReplaceAll(cname, " ", "-")+".tar")
		if err := tarball.WriteToFile(p, ref, img); err != nil {
			t.Fatal(err)
		}
		out[p] = tag
	}
	return out
}

// TestEfficiencyMatchesDive compares inspect efficiency and check with
// dive --ci on docker archives written by export: the synthetic images,
// and the corpus images when CTRLITE_CORPUS is set. Efficiency agrees to
// four decimals, wasted bytes and total bytes exactly, the wasted paths
// with bytes exactly (dive also lists zero-byte duplicates, see README),
// and check passes or fails where dive --ci does on the same thresholds.
func TestEfficiencyMatchesDive(t *testing.T) {
	dive := diveBin(t)
	e := newEnv(t)
	images := syntheticImages(t)
	if c := os.Getenv("CTRLITE_CORPUS"); c != "" {
		for p, n := range map[string]string{
			"debian-bookworm-2layer-oci":         "debian-bookworm-minbase-2layer",
			"busybox-1.38.0-musl-amd64-oci":      "busybox:1.38.0-musl",
			"ggcr-testdata/whiteout_image.tar":   "bazel/pkg/v1/mutate:whiteout_image",
			"ggcr-testdata/overwritten_file.tar": "bazel/pkg/v1/mutate:overwritten_file",
			"ggcr-testdata/whiteout_dir.tar":     "localhost:5000/whiteout",
			"ggcr-testdata/test_image_1.tar":     "bazel/v1/tarball:test_image_1",
		} {
			images[filepath.Join(c, p)] = n
		}
		alpine := filepath.Join(t.TempDir(), "alpine.tar")
		tag, _ := name.NewTag("corpus/alpine:3.20.3")
		if err := tarball.WriteToFile(alpine, tag, testutil.AlpineImage(t)); err != nil {
			t.Fatal(err)
		}
		images[alpine] = tag.String()
	}
	paths := make([]string, 0, len(images))
	for p := range images {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		img := images[p]
		t.Run(img, func(t *testing.T) {
			e.must("import", p)
			archive := filepath.Join(t.TempDir(), "image.tar")
			e.must("export", "--format", "docker", img, archive)
			var ours inspect.EfficiencyReport
			if err := json.Unmarshal([]byte(e.must("inspect", "efficiency", "--json", "--top", "0", img)), &ours); err != nil {
				t.Fatal(err)
			}
			theirs := runDive(t, dive, archive)
			compareWithDive(t, ours, theirs)
			sameVerdicts(t, e, dive, archive, img, ours)
		})
	}
}

func runDive(t *testing.T, dive, archive string) diveReport {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dive.json")
	cmd := exec.Command(dive, "--source", "docker-archive", "--json", out, archive)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dive --json: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep diveReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("dive --json output: %v", err)
	}
	return rep
}

func compareWithDive(t *testing.T, ours inspect.EfficiencyReport, theirs diveReport) {
	t.Helper()
	pct := func(f float64) string { return strconv.FormatFloat(100*f, 'f', 4, 64) }
	if pct(ours.Efficiency) != pct(theirs.Image.EfficiencyScore) {
		t.Errorf("efficiency %s %%, dive %s %%", pct(ours.Efficiency), pct(theirs.Image.EfficiencyScore))
	}
	if ours.WastedBytes != theirs.Image.InefficientBytes || ours.TotalBytes != theirs.Image.SizeBytes {
		t.Errorf("wasted %d total %d, dive %d %d", ours.WastedBytes, ours.TotalBytes, theirs.Image.InefficientBytes, theirs.Image.SizeBytes)
	}
	var user int64
	for _, l := range theirs.Layer[min(1, len(theirs.Layer)):] {
		user += l.SizeBytes
	}
	if ours.UserBytes != user {
		t.Errorf("user bytes %d, dive %d", ours.UserBytes, user)
	}
	var want, got []string
	for _, f := range theirs.Image.FileReference {
		if f.SizeBytes > 0 {
			want = append(want, fmt.Sprintf("%s %d %d", f.File, f.Count, f.SizeBytes))
		}
	}
	for _, w := range ours.WastedPaths {
		got = append(got, fmt.Sprintf("%s %d %d", w.Path, w.Count, w.Bytes))
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("wasted paths:\n%s\ndive:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// sameVerdicts runs check and dive --ci on thresholds just either side of
// the image's figures: each rule must pass or fail in both.
func sameVerdicts(t *testing.T, e *env, dive, archive, img string, rep inspect.EfficiencyReport) {
	t.Helper()
	type rule struct {
		check     []string
		diveFlag  string
		diveValue string
	}
	off := []string{"--lowestEfficiency", "disabled", "--highestWastedBytes", "disabled", "--highestUserWastedPercent", "disabled"}
	var rules []rule
	for _, eff := range []float64{rep.Efficiency - 0.001, rep.Efficiency + 0.001} {
		if eff < 0 || eff > 1 {
			continue
		}
		v := strconv.FormatFloat(eff, 'f', 6, 64)
		rules = append(rules, rule{check: []string{"--min-efficiency", v}, diveFlag: "--lowestEfficiency", diveValue: v})
	}
	for _, w := range []int64{rep.WastedBytes - 1, rep.WastedBytes} {
		if w < 0 {
			continue
		}
		v := strconv.FormatInt(w, 10)
		rules = append(rules, rule{check: []string{"--max-wasted-bytes", v}, diveFlag: "--highestWastedBytes", diveValue: v})
	}
	for _, frac := range []float64{rep.WastedPercent/100 - 0.0001, rep.WastedPercent/100 + 0.0001} {
		if frac < 0 || frac > 1 {
			continue // dive takes a ratio from 0 to 1 only
		}
		rules = append(rules, rule{check: []string{"--max-wasted-percent", strconv.FormatFloat(100*frac, 'f', 6, 64)},
			diveFlag: "--highestUserWastedPercent", diveValue: strconv.FormatFloat(frac, 'f', 8, 64)})
	}
	for _, r := range rules {
		args := append([]string{"--ci", "--source", "docker-archive"}, off...)
		for i := range args {
			if args[i] == r.diveFlag {
				args[i+1] = r.diveValue
			}
		}
		cmd := exec.Command(dive, append(args, archive)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("dive --ci: %v", err)
		}
		divePass := err == nil
		res := e.ctl(append([]string{"check", img}, r.check...)...)
		if res.code > 1 {
			t.Fatalf("check %v: %s", r.check, res)
		}
		if pass := res.code == 0; pass != divePass {
			t.Errorf("check %v passes=%v, dive %s %s passes=%v\n%s\n%s", r.check, pass, r.diveFlag, r.diveValue, divePass, res.out, out)
		}
	}
}
