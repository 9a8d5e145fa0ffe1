package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/ctrlite/ctr-lite/pkg/gc"
	"github.com/ctrlite/ctr-lite/pkg/progress"
	"github.com/ctrlite/ctr-lite/unpack"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name (after replacing each old with
// its new, for what changes from run to run), or rewrites it with -update.
func golden(t *testing.T, name string, got string, replace ...string) {
	t.Helper()
	got = strings.NewReplacer(replace...).Replace(got)
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden; got:\n%s", name, got)
	}
}

// smallImage is a two-layer linux/amd64 image with uncompressed layers,
// the same bytes on every run (its digests are in the goldens).
func smallImage(t *testing.T) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, ents := range [][]testutil.Entry{
		{testutil.Dir("etc"), testutil.File("etc/motd", "hello\n"), testutil.File("big", strings.Repeat("x", 3000))},
		{testutil.File("big", strings.Repeat("y", 2000)), testutil.File("etc/.wh.motd", "")},
	} {
		var err error
		img, err = mutate.AppendLayers(img, static.NewLayer(testutil.Layer(t, ents), types.OCIUncompressedLayer))
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// TestPullAndGCJSON: pull --json says per blob what was downloaded,
// resumed or already stored, gc --json what was freed.
func TestPullAndGCJSON(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	img := smallImage(t)
	testutil.PushImage(t, reg, "small:1", img)
	ref := reg.Host + "/small:1"
	e := newEnv(t)
	pull := func() pullReport {
		t.Helper()
		out := e.must("pull", "--json", "--platform", "linux/amd64", ref)
		var reps []pullReport
		if err := json.Unmarshal([]byte(out), &reps); err != nil || len(reps) != 1 {
			t.Fatalf("pull --json: %v\n%s", err, out)
		}
		return reps[0]
	}
	fresh := pull()
	out, _ := json.MarshalIndent([]pullReport{fresh}, "", "  ")
	golden(t, "pull.json", string(out)+"\n", reg.Host, "REGISTRY")
	d, _ := img.Digest()
	if fresh.Digest.String() != d.String() || fresh.Downloaded != 3 || fresh.AlreadyStored != 0 || fresh.Resumed != 0 || len(fresh.Blobs) != 3 {
		t.Fatalf("first pull: %+v", fresh)
	}
	var sum int64
	for _, b := range fresh.Blobs {
		if b.Status != progress.StatusDownloaded || b.Downloaded != b.Size || b.Offset != 0 {
			t.Errorf("first pull blob %+v", b)
		}
		sum += b.Size
	}
	if fresh.DownloadedBytes != sum {
		t.Errorf("downloaded_bytes %d, blobs sum to %d", fresh.DownloadedBytes, sum)
	}
	if again := pull(); again.Downloaded != 0 || again.AlreadyStored != 3 || again.DownloadedBytes != 0 || again.Blobs[2].Status != progress.StatusStored {
		t.Errorf("second pull: %+v", again)
	}

	// A partial download of the top layer is resumed where it stopped.
	e.must("rmi", ref)
	e.must("gc")
	layers, _ := img.Layers()
	top, _ := layers[1].Compressed()
	raw := new(bytes.Buffer)
	raw.ReadFrom(top)
	top.Close()
	dg, _ := layers[1].Digest()
	st, err := content.Open(e.root)
	if err != nil {
		t.Fatal(err)
	}
	w, err := st.Writer(context.Background(), ocispec.Descriptor{Digest: digest.Digest(dg.String()), Size: int64(raw.Len())})
	if err != nil {
		t.Fatal(err)
	}
	half := raw.Len() / 2
	if _, err := w.Write(raw.Bytes()[:half]); err != nil {
		t.Fatal(err)
	}
	w.Close()
	resumed := pull()
	if resumed.Resumed != 1 || resumed.Downloaded != 3 {
		t.Errorf("pull over a partial download: %+v", resumed)
	}
	for _, b := range resumed.Blobs {
		if b.Digest.String() == dg.String() && (b.Status != progress.StatusResumed || b.Offset != int64(half) || b.Downloaded != b.Size-int64(half)) {
			t.Errorf("resumed blob %+v, want offset %d", b, half)
		}
	}

	// gc --json lists what it freed, per part.
	e.must("rmi", ref)
	var freed []gc.Freed
	gcOut := e.must("gc", "--json")
	if err := json.Unmarshal([]byte(gcOut), &freed); err != nil {
		t.Fatalf("gc --json: %v\n%s", err, gcOut)
	}
	golden(t, "gc.json", gcOut)
	items := map[string]int64{}
	var total int64
	for _, p := range freed {
		for _, it := range p.Items {
			items[it.ID] = it.Size
		}
		total += p.Bytes
	}
	if items[dg.String()] != int64(raw.Len()) || items[d.String()] == 0 || total < sum {
		t.Errorf("gc --json freed %v (%d bytes); want the layer %s and manifest %s, at least %d bytes", items, total, dg, d, sum)
	}
	if out := e.must("gc", "--json"); !strings.Contains(out, `"items": []`) {
		t.Errorf("gc --json with nothing to free:\n%s", out)
	}
}

// TestJSONNames: every --json names its fields in snake_case and prints
// numbers as numbers; images and ps --json have goldens.
func TestJSONNames(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	testutil.PushImage(t, reg, "small:1", smallImage(t))
	ref := reg.Host + "/small:1"
	e := newEnv(t)
	e.must("pull", "--platform", "linux/amd64", ref)
	root, err := dataroot.Open(e.root)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c, err := container.NewStore(root).Create(context.Background(), container.Container{Name: "web", Image: ref, Command: []string{"sh"}, Created: created})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := container.NewStore(root).Update(context.Background(), c.ID, func(c *container.Container) error {
		c.Status, c.ExitCode, c.PidStart, c.Finished = container.Exited, 3, 4242, created.Add(time.Minute)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	golden(t, "images.json", e.must("images", "--json"), reg.Host, "REGISTRY")
	golden(t, "ps.json", e.must("ps", "-a", "--json"), reg.Host, "REGISTRY", c.ID, "ID")
	for _, args := range [][]string{
		{"images", "--json"}, {"ps", "-a", "--json"},
		{"inspect", "layers", "--json", ref}, {"inspect", "history", "--json", ref},
		{"inspect", "files", "--json", ref}, {"inspect", "efficiency", "--json", ref},
		{"check", "--json", "--max-layers", "5", "--min-efficiency", "0.1", "--no-root-user", ref},
		{"diff", "--json", "--layers", ref, ref},
		{"pull", "--json", "--platform", "linux/amd64", ref}, {"gc", "--json", "--dry-run"},
	} {
		r := e.ctl(args...)
		var v any
		if err := json.Unmarshal([]byte(r.out), &v); err != nil {
			t.Errorf("%s: not JSON: %v\n%s", strings.Join(args, " "), err, r)
			continue
		}
		if bad := badNames(v); len(bad) > 0 {
			t.Errorf("%s: names not snake_case: %v", strings.Join(args, " "), bad)
		}
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// badNames lists the object keys of v, at any depth, that are not
// snake_case; values of maps keyed by data (labels, env) are not names,
// but no report has such maps.
func badNames(v any) []string {
	var bad []string
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if !snakeCase.MatchString(k) {
				bad = append(bad, k)
			}
			bad = append(bad, badNames(val)...)
		}
	case []any:
		for _, val := range x {
			bad = append(bad, badNames(val)...)
		}
	}
	return bad
}

// TestUnpackRootlessSkips: unpack --rootless --json lists what was not
// reproduced, per kind; the warnings name the kind, not "device node" for
// everything.
func TestUnpackRootlessSkips(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	layer := testutil.Layer(t, []testutil.Entry{
		{Type: tar.TypeDir, Name: "dev", Mode: 0o755, UID: os.Geteuid(), GID: os.Getegid()},
		{Type: tar.TypeChar, Name: "dev/null", DevMajor: 1, DevMinor: 3},
		{Type: tar.TypeReg, Name: "owned", Mode: 0o644, UID: 1000, GID: 1001, Content: []byte("x")},
	})
	img, err := mutate.AppendLayers(img, static.NewLayer(layer, types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	testutil.PushImage(t, reg, "dev:1", img)
	e := newEnv(t)
	target := filepath.Join(t.TempDir(), "rootfs")
	r := e.ctl("unpack", "--rootless", "--json", "--platform", "linux/amd64", reg.Host+"/dev:1", target)
	if r.code != 0 {
		t.Fatalf("unpack --rootless: %s", r)
	}
	if os.Geteuid() == 0 {
		golden(t, "unpack-rootless.json", r.out, reg.Host, "REGISTRY", target, "TARGET")
	}
	var rep unpackReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("unpack --json: %v\n%s", err, r.out)
	}
	got := map[string]string{}
	for _, s := range rep.Skipped {
		got[s.Path] = s.Kind + " " + s.Detail
	}
	want := map[string]string{"dev/null": unpack.SkipDevice + " char 1:3"}
	if os.Geteuid() != 1000 {
		want["owned"] = unpack.SkipOwner + " 1000:1001"
	}
	if len(got) != len(want) || got["dev/null"] != want["dev/null"] || got["owned"] != want["owned"] {
		t.Errorf("skipped %v, want %v", got, want)
	}
	for _, kind := range []string{"device node skipped: 1 ", "owner not kept: 1 "} {
		if !strings.Contains(r.err, kind) {
			t.Errorf("warnings lack %q:\n%s", kind, r.err)
		}
	}
}
