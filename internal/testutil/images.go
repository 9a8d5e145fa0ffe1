package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// The images the tests run. Each comes from the corpus when CTRLITE_CORPUS
// is set, and is built here otherwise (from Debian's busybox-static and
// generated files), so every test runs on a fresh clone.
const (
	// Busybox is one layer: busybox with its applets as hard links and
	// docker's busybox users (nobody is 65534). Corpus: busybox 1.38.0 musl.
	Busybox = "busybox"
	// Alpine is one layer: busybox with its applets as symbolic links and
	// Alpine's users and groups (daemon 2:2, nogroup 65533). Corpus: the
	// Alpine 3.20.3 minirootfs. See AlpineRelease.
	Alpine = "alpine"
	// Debian is two layers: a base of more than 1000 files, 100 MB and a
	// first layer of more than 20 MB compressed, then a layer that adds
	// usr/bin/busybox, changes var/lib/dpkg/status, and holds a file
	// whiteout (etc/motd), a directory whiteout (usr/share/man) and an
	// opaque directory (var/log, left with only README). Corpus: Debian
	// bookworm minbase plus busybox-static.
	Debian = "debian"
)

// corpusLayouts are the corpus OCI layouts standing for the images.
var corpusLayouts = map[string]string{
	Busybox: "busybox-1.38.0-musl-amd64-oci",
	Debian:  "debian-bookworm-2layer-oci",
}

// ImageLayout returns an OCI image layout directory holding the named
// image (Busybox, Alpine or Debian) under one reference name. Built
// layouts are cached in $TMPDIR/ctr-lite-testimages, keyed by what they
// are built from; treat the directory as read-only.
func ImageLayout(t testing.TB, name string) string {
	t.Helper()
	if c, ok := CorpusDir(t); ok {
		if rel, ok := corpusLayouts[name]; ok {
			return CorpusFile(t, rel)
		}
		if name == Alpine {
			src := CorpusFile(t, AlpineMinirootfs)
			return cachedLayout(t, "alpine-corpus", src, func(t testing.TB, _ string) (v1.Image, string) {
				return alpineFromCorpus(t, filepath.Join(c, AlpineMinirootfs)), "alpine:3.20.3"
			})
		}
	}
	build, ok := builders[name]
	if !ok {
		t.Fatalf("no test image %q", name)
	}
	return cachedLayout(t, name+"-built", busyboxBinary(t), build)
}

// Image returns the named image (see ImageLayout).
func Image(t testing.TB, name string) v1.Image {
	t.Helper()
	return LayoutImage(t, ImageLayout(t, name))
}

// AlpineRelease names a file the Alpine image has and what it holds: the
// corpus Alpine's /etc/alpine-release, or the built image's /etc/os-release.
func AlpineRelease(t testing.TB) (path, content string) {
	t.Helper()
	if _, ok := CorpusDir(t); ok {
		return "/etc/alpine-release", "3.20.3\n"
	}
	return "/etc/os-release", miniRelease
}

// cacheVersion changes whenever a builder changes what it builds.
const cacheVersion = "3"

var cacheMu sync.Mutex

// layoutBuilds counts the layouts cachedLayout built (not found cached):
// the cache test reads it.
var layoutBuilds atomic.Int32

// cachedLayout returns the cached layout for key and the file src it is
// built from, building it first when it is missing. A layout is written
// beside its final name and renamed into place, so concurrent test
// processes see a whole layout or none.

func cachedLayout(t testing.TB, key, src string, build func(t testing.TB, dir string) (v1.Image, string)) string {
	t.Helper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("test image %s: %v", key, err)
	}
	h := sha256.New()
	h.Write([]byte(cacheVersion + "\x00" + key + "\x00"))
	h.Write(b)
	parent := filepath.Join(os.TempDir(), "ctr-lite-testimages")
	dir := filepath.Join(parent, key+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		return dir
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		t.Fatalf("test image cache: %v", err)
	}
	tmp, err := os.MkdirTemp(parent, key+".tmp-")
	if err != nil {
		t.Fatalf("test image cache: %v", err)
	}
	defer os.RemoveAll(tmp)
	scratch, err := os.MkdirTemp(parent, key+".layers-")
	if err != nil {
		t.Fatalf("test image cache: %v", err)
	}
	defer os.RemoveAll(scratch)
	layoutBuilds.Add(1)
	img, ref := build(t, scratch)
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		t.Fatalf("write layout %s: %v", key, err)
	}
	err = p.AppendImage(img, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}),
		layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": ref,
			"io.containerd.image.name":          ref,
		}))
	if err != nil {
		t.Fatalf("write layout %s: %v", key, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	// Another process may have renamed its copy into place first.
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		t.Fatalf("test image cache: %v", err)
	}
	return dir
}
