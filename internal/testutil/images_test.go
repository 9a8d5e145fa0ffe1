package testutil

import (
	"archive/tar"
	"io"
	"strings"
	"testing"
)

// TestBuiltImages checks what the other packages' tests rely on in the
// images built without the corpus (with it, ImageLayout serves the corpus).
func TestBuiltImages(t *testing.T) {
	t.Setenv("CTRLITE_CORPUS", "")
	type facts struct {
		layers           int
		files            int   // regular files, links and whiteouts in layer 0
		compressed0, raw int64 // first layer's blob size, all layers' tar bytes
		paths            []string
		top              []string // entries of the last layer
		passwd           string
	}
	want := map[string]func(t *testing.T, f facts){
		Busybox: func(t *testing.T, f facts) {
			if f.layers != 1 || !has(f.paths, "bin/sh", "bin/true", "etc/passwd", "tmp/") || !strings.Contains(f.passwd, "nobody:x:65534:") {
				t.Errorf("busybox: %d layers, passwd %q", f.layers, f.passwd)
			}
		},
		Alpine: func(t *testing.T, f facts) {
			path, _ := AlpineRelease(t)
			if f.layers != 1 || !has(f.paths, "bin/sh", strings.TrimPrefix(path, "/")) || !strings.Contains(f.passwd, "daemon:x:2:2:daemon:/sbin:") {
				t.Errorf("alpine: %d layers, release %s, passwd %q", f.layers, path, f.passwd)
			}
		},
		Debian: func(t *testing.T, f facts) {
			if f.layers != 2 || f.files < 1000 || f.compressed0 < 25<<20 || f.raw < 100e6 || f.compressed0 > 90e6 {
				t.Errorf("debian: %d layers, %d entries in layer 0, layer 0 %d bytes gzip, %d bytes raw", f.layers, f.files, f.compressed0, f.raw)
			}
			if !has(f.top, "etc/.wh.motd", "usr/share/.wh.man", "var/log/.wh..wh..opq", "var/log/README", "usr/bin/busybox", "var/lib/dpkg/status") ||
				!has(f.paths, "etc/motd", "etc/shadow", "usr/share/man/man1/", "usr/bin/true", "etc/os-release") {
				t.Errorf("debian: top layer %v", f.top)
			}
		},
	}
	for name, check := range want {
		t.Run(name, func(t *testing.T) {
			img := Image(t, name)
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			f := facts{layers: len(layers)}
			for i, l := range layers {
				if i == 0 {
					if f.compressed0, err = l.Size(); err != nil {
						t.Fatal(err)
					}
				}
				rc, err := l.Uncompressed()
				if err != nil {
					t.Fatal(err)
				}
				tr := tar.NewReader(rc)
				f.top = nil
				for {
					h, err := tr.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					f.paths, f.top = append(f.paths, h.Name), append(f.top, h.Name)
					if i == 0 && h.Typeflag != tar.TypeDir {
						f.files++
					}
					if h.Name == "etc/passwd" {
						b, _ := io.ReadAll(tr)
						f.passwd = string(b)
					}
					f.raw += h.Size
				}
				rc.Close()
			}
			check(t, f)
			// A second request reuses the cached layout, not a rebuilt one
			// (a rebuild's rename onto the cached one fails quietly, so
			// only the build count can tell).
			dir := ImageLayout(t, name)
			builds := layoutBuilds.Load()
			if again := ImageLayout(t, name); again != dir || layoutBuilds.Load() != builds {
				t.Errorf("the second request rebuilt the layout (%s, builds %d -> %d)", again, builds, layoutBuilds.Load())
			}
		})
	}
}

func has(list []string, want ...string) bool {
	set := map[string]bool{}
	for _, s := range list {
		set[s] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}
