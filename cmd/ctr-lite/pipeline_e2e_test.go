package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// TestUnpackWhileDownloading checks that pull --unpack applies a layer
// while it is still downloading: the big layer stalls half way, and its
// snapshot build must already be under way then.
func TestUnpackWhileDownloading(t *testing.T) {
	testutil.RequireRoot(t)
	reg, _ := corpusRegistry(t, testutil.RegistryOptions{})
	p := testutil.StartFaultProxy(t, reg)
	big := bigLayer(t)
	p.Add(testutil.Fault{Kind: testutil.FaultStall, Method: "GET", Path: "/blobs/" + big, After: 16 << 20, Duration: 3 * time.Second, Times: 1})
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := e.bin(ctx, "pull", "--unpack", p.Host+"/debian:bookworm-2layer")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	overlapped := false
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && !overlapped; time.Sleep(20 * time.Millisecond) {
		builds, _ := filepath.Glob(filepath.Join(e.root, "snapshots", "tmp-*", "fs", "usr"))
		partial, err := os.Stat(filepath.Join(e.root, "ingest", strings.TrimPrefix(big, "sha256:")))
		overlapped = len(builds) > 0 && err == nil && partial.Size() < blobSize(t, big)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pull --unpack: %v\n%s", err, out.String())
	}
	if !overlapped {
		t.Errorf("the big layer was not being unpacked while it downloaded")
	}
	if !strings.Contains(out.String(), "snapshots: 2 unpacked, 0 already there") {
		t.Errorf("pull --unpack output:\n%s", out.String())
	}
	again := e.must("pull", "--unpack", p.Host+"/debian:bookworm-2layer")
	if !strings.Contains(again, "up to date") || !strings.Contains(again, "0 unpacked, 2 already there") {
		t.Errorf("second pull --unpack:\n%s", again)
	}
	e.fsckClean()
}

// TestPipelineRejectsTamperedLayer: bytes that do not match are never
// trusted, even when unpacking started before the download ended.
func TestPipelineRejectsTamperedLayer(t *testing.T) {
	testutil.RequireRoot(t)
	reg, _ := corpusRegistry(t, testutil.RegistryOptions{})
	p := testutil.StartFaultProxy(t, reg)
	big := bigLayer(t)
	p.Add(testutil.Fault{Kind: testutil.FaultFlipByte, Method: "GET", Path: "/blobs/" + big, After: 20 << 20})
	e := newEnv(t)
	target := filepath.Join(t.TempDir(), "rootfs")
	for _, args := range [][]string{
		{"pull", "--unpack", p.Host + "/debian:bookworm-2layer"},
		{"run", "--rm", p.Host + "/debian:bookworm-2layer", "true"},
		{"unpack", p.Host + "/debian:bookworm-2layer", target},
	} {
		r := e.ctl(args...)
		if r.code == 0 {
			t.Fatalf("%s succeeded on a tampered layer: %s", args[0], r)
		}
	}
	// The big layer's snapshot (its chain ID is its diff ID) is never
	// completed. The small top layer's may be: its own bytes were good.
	cfg, err := testutil.Image(t, testutil.Debian).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	chain := cfg.RootFS.DiffIDs[0].Hex
	if _, err := os.Stat(filepath.Join(e.root, "snapshots", chain, "done")); err == nil {
		t.Errorf("the big layer's snapshot was completed from a tampered download")
	}
	e.fsckClean()
}

// TestUnpackNotStoredImage unpacks straight from the registry.
func TestUnpackNotStoredImage(t *testing.T) {
	testutil.RequireRoot(t)
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "rootfs")
	out := e.must("unpack", refs["debian"], dir)
	if !strings.Contains(out, "unpacked 2 layers") {
		t.Errorf("unpack output: %s", out)
	}
	for path, want := range map[string]bool{"etc/motd": false, "usr/share/man": false, "usr/bin/busybox": true, "var/log": true, "etc/os-release": true} {
		if _, err := os.Lstat(filepath.Join(dir, path)); (err == nil) != want {
			t.Errorf("%s present = %v, want %v", path, err == nil, want)
		}
	}
	if logs, _ := os.ReadDir(filepath.Join(dir, "var/log")); len(logs) != 1 || logs[0].Name() != "README" {
		t.Errorf("opaque /var/log holds %v, want only README", logs)
	}
	if r := e.ctl("unpack", refs["debian"], dir); r.code == 0 || !strings.Contains(r.err, "not empty") {
		t.Errorf("unpack into a non-empty dir: %s", r)
	}
	e.fsckClean()
}
