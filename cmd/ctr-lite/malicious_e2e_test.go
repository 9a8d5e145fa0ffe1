package main

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// evilName is the file breakout layers try to create; its absence at the
// host's / is checked after every case.
const evilName = "ctrlite-e2e-evil"

// e2eBreakout is one malicious image: an optional lower layer and a layer
// built against the sentinel directory out (absolute) that sits beside the
// unpack target.
type e2eBreakout struct {
	name  string
	lower func(out string) []testutil.Entry
	layer func(out string) []testutil.Entry
}

func ents(es ...testutil.Entry) func(string) []testutil.Entry {
	return func(string) []testutil.Entry { return es }
}

func breakoutCases() []e2eBreakout {
	file, dir, sym, hard := testutil.File, testutil.Dir, testutil.Symlink, testutil.Hardlink
	longDotDot := strings.Repeat("x/", 60) + strings.Repeat("../", 62) + "outside/evil"
	return []e2eBreakout{
		// Names that leave the root.
		{name: "absolute name into the sentinel", layer: func(out string) []testutil.Entry { return ents(file(out+"/secret", "pwned"))(out) }},
		{name: "absolute name at /", layer: ents(file("/"+evilName, "pwned"))},
		{name: "dotdot name", layer: ents(file("../outside/secret", "pwned"))},
		{name: "dotdot deep name", layer: ents(file("a/b/../../../outside/evil", "pwned"))},
		{name: "dotdot after slash", layer: ents(file("/../outside/evil", "pwned"))},
		{name: "PAX long name with dotdot", layer: ents(testutil.Entry{Name: longDotDot, Content: []byte("pwned")})},
		{name: "GNU long name with dotdot", layer: ents(testutil.Entry{Name: longDotDot, Content: []byte("pwned"), Format: tar.FormatGNU})},
		// Symlink escapes.
		{name: "absolute symlink to / then file", layer: ents(sym("l", "/"), file("l/"+evilName, "pwned"))},
		{name: "relative symlink climbing then file", layer: ents(sym("l", "../../../../../../.."), file("l/"+evilName, "pwned"))},
		{name: "multi-hop symlinks then file", layer: ents(sym("a", "b"), sym("b", "c/../.."), dir("c"), file("a/"+evilName, "pwned"))},
		{name: "symlink in a subdirectory climbing", layer: ents(dir("d"), sym("d/up", "../../../../"), file("d/up/"+evilName, "pwned"))},
		{name: "absolute symlink to the sentinel then file", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym("l", out), file("l/secret", "pwned")}
		}},
		{name: "relative symlink to the sentinel then file", layer: ents(sym("l", "../outside"), file("l/secret", "pwned"), file("l/new", "pwned"))},
		{name: "symlink to a sentinel file then the file", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym("f", out+"/secret"), file("f", "pwned")}
		}},
		{name: "symlink loop then file", layer: ents(sym("a", "b"), sym("b", "a"), file("a/x", "pwned"))},
		{name: "directory replaced by a symlink then file below", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{dir("d"), file("d/x", ""), sym("d", out), file("d/secret", "pwned")}
		}},
		// Parent symlink to outside, from a lower layer.
		{name: "lower symlink to the sentinel then file below",
			lower: func(out string) []testutil.Entry { return []testutil.Entry{sym("etc", out)} },
			layer: ents(file("etc/secret", "pwned"), file("etc/sub/file", "pwned"))},
		{name: "lower relative symlink to the sentinel then file below",
			lower: ents(sym("etc", "../outside")),
			layer: ents(file("etc/secret", "pwned"))},
		// chmod, chown, utimes and xattrs through symlinks (CVE-2021-32760).
		{name: "directory entry over a symlink to the sentinel", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym("d", out), {Type: tar.TypeDir, Name: "d", Mode: 0o777, UID: 1234, GID: 1234,
				Xattrs: map[string]string{"user.evil": "x"}}}
		}},
		{name: "lower symlink to the sentinel then directory entry with mode",
			lower: func(out string) []testutil.Entry { return []testutil.Entry{sym("etc", out+"/sub")} },
			layer: ents(testutil.Entry{Type: tar.TypeDir, Name: "etc", Mode: 0o777, UID: 1234})},
		{name: "lower symlink to a sentinel file then file entry with mode",
			lower: func(out string) []testutil.Entry { return []testutil.Entry{sym("f", out+"/secret")} },
			layer: ents(testutil.Entry{Name: "f", Mode: 0o4777, Content: []byte("pwned")})},
		{name: "device below a symlink to the sentinel", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym("d", out), {Type: tar.TypeChar, Name: "d/null", DevMajor: 1, DevMinor: 3}}
		}},
		{name: "fifo below a symlink to the sentinel", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym("d", out), {Type: tar.TypeFifo, Name: "d/fifo"}}
		}},
		// Hardlinks to outside.
		{name: "hardlink to an absolute sentinel path", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{hard("h", out+"/secret"), file("h", "pwned")}
		}},
		{name: "hardlink with dotdot", layer: ents(hard("h", "../outside/secret"))},
		{name: "hardlink through a symlink to the sentinel", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym("l", out), hard("h", "l/secret")}
		}},
		{name: "hardlink to a symlink to the sentinel then file", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym("l", out+"/secret"), hard("h", "l"), file("h", "pwned")}
		}},
		{name: "hardlink through a climbing relative symlink", layer: ents(dir("etc"), file("etc/passwd", "inside"), dir("b"),
			sym("b/d1", "../../etc"), hard("b/mypasswd", "/b/d1/passwd"))},
		// The root itself (umoci CVE-2021-29136).
		{name: "symlink named dot", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym(".", out), file("secret", "pwned")}
		}},
		{name: "symlink named slash", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym("/", out), file("secret", "pwned")}
		}},
		{name: "symlink named dot-slash", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym("./", out), file("secret", "pwned")}
		}},
		// Whiteouts that reach outside.
		{name: "whiteout dot", layer: ents(file(".wh..", ""))},
		{name: "whiteout dotdot", layer: ents(file(".wh...", ""))},
		{name: "whiteout dotdot in a subdirectory", layer: ents(dir("a"), file("a/.wh...", ""))},
		{name: "whiteout through a symlink to the sentinel", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym("l", out), file("l/.wh.secret", "")}
		}},
		{name: "opaque marker through a symlink to the sentinel", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{sym("l", out), file("l/.wh..wh..opq", "")}
		}},
		{name: "whiteout through a lower symlink to the sentinel",
			lower: func(out string) []testutil.Entry { return []testutil.Entry{sym("l", out)} },
			layer: ents(file("l/.wh.secret", ""), file("l/sub/.wh.file", ""))},
		// overlayfs xattrs that would redirect or hide paths at run time.
		{name: "overlay redirect xattr to the sentinel", layer: func(out string) []testutil.Entry {
			return []testutil.Entry{{Type: tar.TypeDir, Name: "d", Mode: 0o755,
				Xattrs: map[string]string{"trusted.overlay.redirect": out, "user.overlay.redirect": out}}, file("d/"+evilName, "pwned")}
		}},
		{name: "overlay opaque xattr on the root", layer: ents(testutil.Entry{Type: tar.TypeDir, Name: "./", Mode: 0o755,
			Xattrs: map[string]string{"trusted.overlay.opaque": "y"}})},
		{name: "opaque marker through a lower relative symlink",
			lower: ents(sym("l", "../outside")),
			layer: ents(file("l/.wh..wh..opq", ""), file("l/sub/.wh..wh..opq", ""))},
	}
}

// sentinelDir fills out with files, a directory and a symlink, all with old
// fixed times, for a breakout to change.
func sentinelDir(t *testing.T, out string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(out, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"secret", "sub/file"} {
		if err := os.WriteFile(filepath.Join(out, f), []byte("secret"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("secret", filepath.Join(out, "link")); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1600000000, 0)
	for _, p := range []string{"secret", "sub/file", "sub", "."} {
		if err := os.Chtimes(filepath.Join(out, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// dirState is what a breakout could change on the sentinel directory itself.
func dirState(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		return "missing: " + err.Error()
	}
	return fmt.Sprintf("%v %d", fi.Mode(), fi.ModTime().UnixNano())
}

// TestMaliciousImagesEndToEnd pushes one image per breakout case (busybox
// below the malicious layers) to a real registry, then pulls, unpacks and
// (once `run` exists) runs it with the real binary. Each step either fails
// with one line naming an entry of the layer or keeps everything inside the
// target; the sentinel beside the target never changes.
func TestMaliciousImagesEndToEnd(t *testing.T) {
	testutil.RequireRoot(t)
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	base := testutil.Image(t, testutil.Busybox)
	canRun := hasCommand("run")
	if !canRun {
		t.Log("`run` is not wired yet: the run step of each case is skipped")
	}
	e := newEnv(t)
	cases := breakoutCases()
	refused, confined := 0, 0
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dirBase := t.TempDir()
			out, target := filepath.Join(dirBase, "outside"), filepath.Join(dirBase, "target")
			sentinelDir(t, out)
			before := testutil.Tree(t, out, testutil.TreeOptions{MTime: true})
			outState := dirState(t, out)

			var layers [][]byte
			var names []string
			for _, mk := range []func(string) []testutil.Entry{c.lower, c.layer} {
				if mk == nil {
					continue
				}
				es := mk(out)
				for _, en := range es {
					names = append(names, en.Name)
				}
				layers = append(layers, testutil.Layer(t, es))
			}
			repo := fmt.Sprintf("malicious/case%d:1", i)
			testutil.PushImage(t, reg, repo, withLayers(t, base, layers...))
			ref := reg.Host + "/" + repo

			checkConfined := func(step string) {
				t.Helper()
				if d := testutil.DiffTrees(before, testutil.Tree(t, out, testutil.TreeOptions{MTime: true})); len(d) > 0 {
					t.Errorf("ESCAPE after %s: sentinel changed: %v", step, d)
				}
				if s := dirState(t, out); s != outState {
					t.Errorf("ESCAPE after %s: sentinel directory changed: %s -> %s", step, outState, s)
				}
				for _, n := range dirNames(t, dirBase) {
					if n != "outside" && n != "target" {
						t.Errorf("ESCAPE after %s: %s written beside the target", step, n)
					}
				}
				if _, err := os.Lstat("/" + evilName); err == nil {
					os.Remove("/" + evilName)
					t.Errorf("ESCAPE after %s: /%s written on the host", step, evilName)
				}
			}

			if r := e.runBin(2*time.Minute, "pull", "-q", ref); r.code != 0 {
				t.Fatalf("pull (stores blobs only, must succeed): %s", r.result)
			}
			r := e.runBin(2*time.Minute, "unpack", "-q", ref, target)
			checkConfined("unpack")
			if strings.Contains(r.err, "panic") || r.hung {
				t.Fatalf("unpack crashed or hung: %s", r.result)
			}
			if r.code != 0 {
				oneLineError(t, r.result, names...)
				refused++
				t.Logf("refused: %s", strings.TrimSpace(r.err))
			} else {
				confined++
				t.Logf("unpacked, confined to the target")
			}
			if canRun {
				rr := e.runBin(2*time.Minute, "run", "--rm", ref, "true")
				checkConfined("run")
				if strings.Contains(rr.err, "panic") || rr.hung {
					t.Fatalf("run crashed or hung: %s", rr.result)
				}
				if rr.code == 125 {
					oneLineError(t, rr.result, names...)
				}
				t.Logf("run: exit %d %s", rr.code, strings.TrimSpace(rr.err))
			}
			e.fsckClean()
		})
	}
	t.Logf("malicious images: %d cases, %d refused with an error naming the entry, %d unpacked confined to the target",
		len(cases), refused, confined)
}
