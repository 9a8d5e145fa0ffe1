package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"golang.org/x/sys/unix"
)

type entries = []testutil.Entry

var (
	file     = testutil.File
	dirE     = testutil.Dir
	symlinkE = testutil.Symlink
	hardlink = testutil.Hardlink
)

// errAny accepts any error (the case only requires refusal).
var errAny = errors.New("any error")

type maliciousCase struct {
	name  string
	lower func(out string) entries // applied first (a lower layer)

	layer func(out string) entries
	err   error // nil: success expected; errAny: any error
	// overlayErr, when set, replaces err in Overlay mode.
	overlayErr error
	overlayOK  bool                      // success in Overlay mode (the lower's symlink is not in the upper)
	noEntry    bool                      // the error comes before any entry is read (header limits)
	raw        func(t *testing.T) []byte // a hand-made layer, instead of layer
	check      func(t *testing.T, root string, mode Mode)
}

func only(es ...testutil.Entry) func(string) entries {
	return func(string) entries { return es }
}

// findEvil checks a file named evil landed somewhere inside the target.
func findEvil(t *testing.T, root string, _ Mode) {
	t.Helper()
	found := false
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "evil" && d.Type().IsRegular() {
			found = true
		}
		return nil
	})
	if !found {
		t.Errorf("no file evil inside the target")
	}
}

func content(rel, want string) func(*testing.T, string, Mode) {
	return func(t *testing.T, root string, _ Mode) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", rel, b, err, want)
		}
	}
}

func sameFile(a, b string) func(*testing.T, string, Mode) {
	return func(t *testing.T, root string, _ Mode) {
		t.Helper()
		var sa, sb unix.Stat_t
		if unix.Lstat(filepath.Join(root, a), &sa) != nil || unix.Lstat(filepath.Join(root, b), &sb) != nil || sa.Ino != sb.Ino {
			t.Errorf("%s and %s are not the same file", a, b)
		}
	}
}

func isType(rel string, typ uint32) func(*testing.T, string, Mode) {
	return func(t *testing.T, root string, _ Mode) {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, rel), &st); err != nil || st.Mode&unix.S_IFMT != typ {
			t.Errorf("%s: mode %o, %v; want type %o", rel, st.Mode, err, typ)
		}
	}
}

// noXattr checks rel carries none of attrs.
func noXattr(rel string, attrs ...string) func(*testing.T, string, Mode) {
	return func(t *testing.T, root string, _ Mode) {
		t.Helper()
		for _, a := range attrs {
			if _, err := unix.Lgetxattr(filepath.Join(root, rel), a, nil); err != unix.ENODATA {
				t.Errorf("%s: xattr %s present (%v)", rel, a, err)
			}
		}
	}
}

func maliciousCases() []maliciousCase {
	return append([]maliciousCase{
		{name: "absolute name lands inside", layer: func(out string) entries { return entries{file(out+"/evil", "x")} },
			check: findEvil},
		{name: "dotdot name", layer: only(file("../outside/evil", "x")), err: ErrUnsafePath},
		{name: "dotdot deep name", layer: only(file("a/b/../../../outside/evil", "x")), err: ErrUnsafePath},
		{name: "dotdot absolute name", layer: only(file("/../outside/evil", "x")), err: ErrUnsafePath},
		{name: "GNU long name with dotdot", layer: only(testutil.Entry{Name: strings.Repeat("x/", 60) + strings.Repeat("../", 62) + "outside/evil", Format: tar.FormatGNU}), err: ErrUnsafePath},
		{name: "PAX long name with dotdot", layer: only(testutil.Entry{Name: strings.Repeat("x/", 60) + strings.Repeat("../", 62) + "outside/evil"}), err: ErrUnsafePath},
		{name: "absolute symlink to root then file", layer: only(symlinkE("l", "/"), file("l/evil", "x")), check: content("evil", "x")},
		{name: "relative symlink climbing then file", layer: only(symlinkE("l", "../../../../../../.."), file("l/evil", "x")), check: content("evil", "x")},
		{name: "multi-hop symlinks then file", layer: only(symlinkE("a", "b"), symlinkE("b", "c/../.."), dirE("c"), file("a/evil", "x")), check: content("evil", "x")},
		{name: "symlink in subdir climbing", layer: only(dirE("d"), symlinkE("d/up", "../../../../"), file("d/up/evil", "x")), check: content("evil", "x")},
		{name: "absolute symlink to the sentinel then file", layer: func(out string) entries {
			return entries{symlinkE("l", out), file("l/secret", "pwned")}
		}, err: ErrBreakout},
		{name: "symlink to sentinel existing inside", layer: func(out string) entries {
			return entries{dirE(strings.TrimPrefix(out, "/")), symlinkE("l", out), file("l/evil", "inside")}
		}, check: findEvil},
		{name: "symlink to sentinel file then file replaces link", layer: func(out string) entries {
			return entries{symlinkE("f", out+"/secret"), file("f", "pwned")}
		}, check: func(t *testing.T, root string, m Mode) {
			content("f", "pwned")(t, root, m)
			isType("f", unix.S_IFREG)(t, root, m)
		}},
		{name: "symlink to sentinel dir then dir entry (CVE-2021-32760)", layer: func(out string) entries {
			return entries{symlinkE("d", out), {Type: tar.TypeDir, Name: "d", Mode: 0o777}}
		}, check: isType("d", unix.S_IFDIR)},
		{name: "lower symlink to sentinel then dir entry with mode", lower: func(out string) entries { return entries{symlinkE("etc", out)} },
			layer: only(testutil.Entry{Type: tar.TypeDir, Name: "etc", Mode: 0o777}), check: isType("etc", unix.S_IFDIR)},
		{name: "lower symlink to sentinel then file below", lower: func(out string) entries { return entries{symlinkE("etc", out)} },
			layer: only(file("etc/secret", "pwned")), err: ErrBreakout, overlayOK: true},
		{name: "hardlink absolute to sentinel", layer: func(out string) entries { return entries{hardlink("h", out+"/secret")} }, err: errdefs.ErrNotFound},
		{name: "hardlink dotdot", layer: only(hardlink("h", "../outside/secret")), err: ErrUnsafePath},
		{name: "GNU long link name dotdot", layer: only(testutil.Entry{Type: tar.TypeLink, Name: "h", Linkname: strings.Repeat("x/", 60) + strings.Repeat("../", 62) + "outside/secret", Format: tar.FormatGNU}), err: ErrUnsafePath},
		{name: "hardlink through symlink to sentinel", layer: func(out string) entries {
			return entries{symlinkE("l", out), hardlink("h", "l/secret")}
		}, err: errdefs.ErrNotFound},
		{name: "hardlink to symlink links the symlink", layer: func(out string) entries {
			return entries{symlinkE("l", out+"/secret"), hardlink("h", "l"), file("h", "pwned")}
		}, check: func(t *testing.T, root string, m Mode) {
			isType("l", unix.S_IFLNK)(t, root, m)
			content("h", "pwned")(t, root, m)
		}},
		{name: "hardlink to symlink stays a symlink", layer: func(out string) entries {
			return entries{symlinkE("l", out+"/secret"), hardlink("h", "l")}
		}, check: isType("h", unix.S_IFLNK)},
		{name: "hardlink then file does not write through", layer: only(file("a", "orig"), hardlink("b", "a"), file("b", "new")),
			check: func(t *testing.T, root string, m Mode) {
				content("a", "orig")(t, root, m)
				content("b", "new")(t, root, m)
			}},
		{name: "hardlink to directory", layer: only(dirE("d"), hardlink("h", "d")), err: ErrUnsafePath},
		{name: "hardlink to missing", layer: only(hardlink("h", "nope")), err: errdefs.ErrNotFound},
		{name: "hardlink to root", layer: only(hardlink("h", "/")), err: ErrUnsafePath},
		{name: "symlink named dot (CVE-2021-29136)", layer: func(out string) entries { return entries{symlinkE(".", out)} }, err: ErrUnsafePath},
		{name: "symlink named slash", layer: func(out string) entries { return entries{symlinkE("/", out)} }, err: ErrUnsafePath},
		{name: "symlink named dot-slash", layer: func(out string) entries { return entries{symlinkE("./", out), file("secret", "x")} }, err: ErrUnsafePath},
		{name: "file named root", layer: only(file(".", "x")), err: ErrUnsafePath},
		{name: "fifo named root", layer: only(testutil.Entry{Type: tar.TypeFifo, Name: "/."}), err: ErrUnsafePath},
		{name: "root dir entry changes only the target", layer: only(testutil.Entry{Type: tar.TypeDir, Name: "./", Mode: 0o700}),
			check: func(t *testing.T, root string, _ Mode) {
				if fi, err := os.Stat(root); err != nil || fi.Mode().Perm() != 0o700 {
					t.Errorf("root mode %v, %v", fi.Mode(), err)
				}
			}},
		{name: "whiteout dot", layer: only(file(".wh..", "")), err: ErrUnsafePath},
		{name: "whiteout dotdot", layer: only(file(".wh...", "")), err: ErrUnsafePath},
		{name: "whiteout dotdot in subdir", layer: only(file("a/.wh...", "")), err: ErrUnsafePath},
		{name: "whiteout empty name", layer: only(file("a/.wh.", "")), err: ErrUnsafePath},
		{name: "whiteout through symlink to sentinel", layer: func(out string) entries {
			return entries{symlinkE("l", out), file("l/.wh.secret", "")}
		}, overlayErr: errAny},
		{name: "opaque through symlink to sentinel", layer: func(out string) entries {
			return entries{symlinkE("l", out), file("l/.wh..wh..opq", "")}
		}, overlayErr: errAny},
		{name: "whiteout through relative symlink lands inside", lower: only(file("victim", "v")),
			layer: only(symlinkE("l", "../../.."), file("l/.wh.victim", "")),
			check: func(t *testing.T, root string, m Mode) {
				if m == Flat {
					if _, err := os.Lstat(filepath.Join(root, "victim")); !os.IsNotExist(err) {
						t.Errorf("victim not deleted: %v", err)
					}
				}
			}},
		{name: "symlink loop", layer: only(symlinkE("a", "b"), symlinkE("b", "a"), file("a/x", "")), err: ErrBreakout},
		{name: "symlink replaced dir then file below", layer: func(out string) entries {
			return entries{dirE("d"), file("d/x", ""), symlinkE("d", out), file("d/y", "pwned")}
		}, err: errAny},
		{name: "long name", layer: only(file(strings.Repeat("a/", 2100)+"f", "")), err: ErrLimit},
		{name: "long component", layer: only(file(strings.Repeat("a", 300), "")), err: ErrLimit},
		{name: "huge PAX header", raw: func(t *testing.T) []byte {
			return specialHeader(t, tar.TypeXHeader, paxRecord("comment", strings.Repeat("x", 2<<20)))
		}, err: ErrLimit, noEntry: true},
		{name: "huge GNU long name", raw: func(t *testing.T) []byte {
			return specialHeader(t, tar.TypeGNULongName, strings.Repeat("n/", 600<<10)+"\x00")
		}, err: ErrLimit, noEntry: true},
		{name: "too many PAX records", layer: only(testutil.Entry{Name: "f", PAX: manyRecords(2000)}), err: ErrLimit},
		{name: "too many xattrs", layer: only(testutil.Entry{Name: "f", Xattrs: manyXattrs(200)}), err: ErrLimit},
		{name: "huge xattr", layer: only(testutil.Entry{Name: "f", Xattrs: map[string]string{"user.big": strings.Repeat("x", 70000)}}), err: ErrLimit},
		{name: "device below symlink to sentinel", layer: func(out string) entries {
			return entries{symlinkE("d", out), {Type: tar.TypeChar, Name: "d/null", DevMajor: 1, DevMinor: 3}}
		}, err: errAny},
		{name: "setuid mode kept", layer: only(testutil.Entry{Name: "su", Mode: 0o4755, Content: []byte("x")}),
			check: func(t *testing.T, root string, _ Mode) {
				if fi, err := os.Lstat(filepath.Join(root, "su")); err != nil || fi.Mode()&os.ModeSetuid == 0 {
					t.Errorf("setuid lost: %v %v", fi.Mode(), err)
				}
			}},
		{name: "whiteout deletes lower file", lower: only(dirE("etc"), file("etc/motd", "hi")), layer: only(file("etc/.wh.motd", "")),
			check: func(t *testing.T, root string, m Mode) {
				var st unix.Stat_t
				err := unix.Lstat(filepath.Join(root, "etc/motd"), &st)
				if m == Flat && err == nil || m == Overlay && (err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0) {
					t.Errorf("etc/motd after whiteout: mode %o rdev %d err %v", st.Mode, st.Rdev, err)
				}
			}},
		{name: "whiteout keeps same-layer file", layer: only(file("a", "x"), file(".wh.a", "")), check: content("a", "x")},
		{name: "opaque keeps same-layer entries in any order", lower: only(file("d/old", "o")),
			layer: only(file("d/new1", "1"), file("d/.wh..wh..opq", ""), file("d/new2", "2")),
			check: func(t *testing.T, root string, m Mode) {
				content("d/new1", "1")(t, root, m)
				content("d/new2", "2")(t, root, m)
				_, err := os.Lstat(filepath.Join(root, "d/old"))
				if m == Flat && err == nil {
					t.Errorf("d/old survived the opaque marker")
				}
				if m == Overlay {
					v := make([]byte, 8)
					n, err := unix.Getxattr(filepath.Join(root, "d"), "trusted.overlay.opaque", v)
					if err != nil || string(v[:n]) != "y" {
						t.Errorf("opaque xattr %q, %v", v[:n], err)
					}
				}
			}},
		// After containerd's archive breakout tests: links through symlinks
		// that climb out resolve inside the target.
		{name: "hardlink through climbing relative symlink", layer: only(dirE("etc"), file("etc/passwd", "inside"), dirE("breakouts"),
			symlinkE("breakouts/d1", "../../etc"), hardlink("breakouts/mypasswd", "/breakouts/d1/passwd")),
			check: sameFile("breakouts/mypasswd", "etc/passwd")},
		{name: "hardlink through down-and-out symlink", layer: only(dirE("etc"), file("etc/passwd", "inside"), dirE("breakouts"), dirE("downandout"),
			symlinkE("breakouts/d1", "../downandout/../../etc"), hardlink("breakouts/mypasswd", "/breakouts/d1/passwd")),
			check: sameFile("breakouts/mypasswd", "etc/passwd")},
		{name: "hardlink through absolute symlink", layer: only(dirE("etc"), file("etc/passwd", "inside"),
			symlinkE("localetc", "/etc"), hardlink("localpasswd", "/localetc/passwd")),
			check: sameFile("localpasswd", "etc/passwd")},
		{name: "file through absolute symlink empties the inside file", layer: only(dirE("etc"), file("etc/emptied", "notempty"),
			symlinkE("localetc", "/etc"), file("/localetc/emptied", "")),
			check: content("etc/emptied", "")},
		{name: "hardlink to climbing symlink links the symlink", layer: only(dirE("etc"), file("etc/passwd", "inside"),
			symlinkE("passwdlink", "../../../../../etc/passwd"), hardlink("localpasswd", "/passwdlink")),
			check: sameFile("localpasswd", "passwdlink")},
		{name: "overlay redirect xattr dropped", layer: only(dirE("etc"), testutil.Entry{Type: tar.TypeDir, Name: "d", Mode: 0o755,
			Xattrs: map[string]string{"trusted.overlay.redirect": "/etc", "trusted.overlay.metacopy": ""}}),
			check: noXattr("d", "trusted.overlay.redirect", "trusted.overlay.metacopy")},
		{name: "overlay opaque xattr dropped", lower: only(dirE("d"), file("d/lower", "l")),
			layer: only(testutil.Entry{Type: tar.TypeDir, Name: "d", Mode: 0o755,
				Xattrs: map[string]string{"trusted.overlay.opaque": "y", "user.overlay.opaque": "y"}}),
			check: func(t *testing.T, root string, m Mode) {
				noXattr("d", "trusted.overlay.opaque", "user.overlay.opaque")(t, root, m)
				if m == Flat {
					content("d/lower", "l")(t, root, m)
				}
			}},
		{name: "overlay xattr on a file dropped", layer: only(testutil.Entry{Name: "f", Content: []byte("x"),
			Xattrs: map[string]string{"trusted.overlay.redirect": "/etc/shadow", "user.overlay.origin": "x", "user.kept": "v"}}),
			check: func(t *testing.T, root string, m Mode) {
				noXattr("f", "trusted.overlay.redirect", "user.overlay.origin")(t, root, m)
				v := make([]byte, 8)
				if n, err := unix.Lgetxattr(filepath.Join(root, "f"), "user.kept", v); err != nil || string(v[:n]) != "v" {
					t.Errorf("user.kept = %q, %v", v[:n], err)
				}
			}},
		{name: "file replaced by dir", lower: only(file("x", "f")), layer: only(dirE("x"), file("x/y", "z")), check: content("x/y", "z")},
		{name: "dir replaced by symlink", lower: only(dirE("x"), file("x/y", "z")), layer: func(out string) entries { return entries{symlinkE("x", out)} },
			check: isType("x", unix.S_IFLNK)},
	}, parallelCases()...)
}

// smallFiles is n small files in dir, the kind Apply hands to workers.
func smallFiles(dir string, n int) entries {
	var es entries
	for i := range n {
		es = append(es, file(fmt.Sprintf("%s/f%03d", dir, i), fmt.Sprint(i)))
	}
	return es
}

// parallelCases aim at the files workers create: each puts entries that
// depend on the order of creation right behind files still in flight.
func parallelCases() []maliciousCase {
	return []maliciousCase{
		{name: "parallel: file then symlink of the same name then file through it", layer: func(out string) entries {
			return append(smallFiles("d", 100), file("d/x", "1"), symlinkE("d/x", out), file("d/x/evil", "x"))
		}, err: ErrBreakout},
		{name: "parallel: file then symlink of the same name then file through it, inside", layer: func(string) entries {
			return append(smallFiles("d", 100), file("d/x", "1"), symlinkE("d/x", "/e"), dirE("e"), file("d/x/evil", "x"))
		}, check: func(t *testing.T, root string, m Mode) {
			content("e/evil", "x")(t, root, m)
			isType("d/x", unix.S_IFLNK)(t, root, m)
		}},
		{name: "parallel: same file name many times", layer: func(string) entries {
			var es entries
			for i := range 300 {
				es = append(es, file("d/f", fmt.Sprint(i)), file(fmt.Sprintf("d/g%03d", i), "g"))
			}
			return es
		}, check: content("d/f", "299")},
		{name: "parallel: hardlink to a file written just before", layer: func(string) entries {
			return append(smallFiles("d", 100), file("d/a", "data"), hardlink("d/b", "d/a"), file("d/c", "c"))
		}, check: func(t *testing.T, root string, m Mode) {
			sameFile("d/a", "d/b")(t, root, m)
			content("d/b", "data")(t, root, m)
		}},
		{name: "parallel: file replaced by a directory, file inside", layer: func(string) entries {
			return append(smallFiles("d", 100), file("d/x", "1"), dirE("d/x"), file("d/x/y", "2"))
		}, check: content("d/x/y", "2")},
		{name: "parallel: directory replaced by a file while its files are written", layer: func(string) entries {
			return append(smallFiles("d", 200), file("d", "now a file"), file("d/late", "x"))
		}, err: errAny},
		{name: "parallel: directory replaced by a symlink to the sentinel while its files are written", layer: func(out string) entries {
			return append(smallFiles("d", 200), symlinkE("d", out), file("d/evil", "x"))
		}, err: ErrBreakout},
		{name: "parallel: file below a file in flight", layer: func(string) entries {
			return append(smallFiles("d", 100), file("d/x", "1"), file("d/x/y", "2"))
		}, err: errAny},
		{name: "parallel: whiteout of a file in flight keeps it", layer: func(string) entries {
			return append(smallFiles("d", 100), file("d/x", "1"), file("d/.wh.x", ""))
		}, check: content("d/x", "1")},
		{name: "parallel: opaque marker after files in flight keeps them", layer: func(string) entries {
			return append(smallFiles("d", 100), file("d/.wh..wh..opq", ""))
		}, check: content("d/f099", "99")},
		{name: "parallel: setgid directory after files in flight", layer: func(string) entries {
			es := smallFiles("d", 100)
			return append(es, testutil.Entry{Type: tar.TypeDir, Name: "d", Mode: 0o2775, GID: 1234}, file("d/z", "z"))
		}, check: func(t *testing.T, root string, _ Mode) {
			for _, f := range []struct {
				name string
				gid  uint32
			}{{"d/f000", 0}, {"d/f099", 0}, {"d/z", 0}} {
				var st unix.Stat_t
				if err := unix.Lstat(filepath.Join(root, f.name), &st); err != nil || st.Gid != f.gid {
					t.Errorf("%s: gid %d, %v; want %d", f.name, st.Gid, err, f.gid)
				}
			}
		}},
	}
}

// paxRecord formats one PAX record ("LEN key=value\n", LEN counting itself).
func paxRecord(k, v string) string {
	n := len(k) + len(v) + 3
	for {
		r := fmt.Sprintf("%d %s=%s\n", n, k, v)
		if len(r) == n {
			return r
		}
		n = len(r)
	}
}

// specialHeader writes a tar stream whose first member is a special header
// (PAX 'x' or GNU 'L') of the given body, followed by a file "f": the Go
// writer refuses to write such oversized headers itself.
func specialHeader(t *testing.T, typ byte, body string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "special", Size: int64(len(body)), Mode: 0o644, Format: tar.FormatUSTAR}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(body))
	tw.WriteHeader(&tar.Header{Name: "f", Mode: 0o644, Format: tar.FormatUSTAR})
	tw.Close()
	b := buf.Bytes()
	b[156] = typ
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func manyRecords(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("ctrlite.k%d", i)] = "v"
	}
	return m
}

func manyXattrs(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m["user.x"+strings.Repeat("a", i%50)+string(rune('a'+i%26))+strings.Repeat("b", i/26)] = "v"
	}
	return m
}

// sentinel fills dir with files a breakout would change.
func sentinel(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"secret", "sub/file"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("secret"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("secret", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
}

func runMalicious(t *testing.T, c maliciousCase, mode Mode) {
	base := t.TempDir()
	out, target, lowerDir := filepath.Join(base, "outside"), filepath.Join(base, "root"), filepath.Join(base, "lower")
	sentinel(t, out)
	for _, d := range []string{target, lowerDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	before := testutil.Tree(t, out, testutil.TreeOptions{MTime: true})
	outInfo, _ := os.Stat(out)
	opts := Options{Mode: mode}
	if c.lower != nil {
		dst := target
		if mode == Overlay {
			dst = lowerDir
			opts.Lowers = []string{lowerDir}
		}
		if _, err := Apply(context.Background(), dst, bytes.NewReader(testutil.Layer(t, c.lower(out))), Options{Mode: mode}); err != nil {
			t.Fatalf("lower layer: %v", err)
		}
	}
	var layer []byte
	if c.raw != nil {
		layer = c.raw(t)
	} else {
		layer = testutil.Layer(t, c.layer(out))
	}
	_, err := Apply(context.Background(), target, bytes.NewReader(layer), opts)
	want := c.err
	if mode == Overlay && c.overlayErr != nil {
		want = c.overlayErr
	}
	if mode == Overlay && c.overlayOK {
		want = nil
	}
	switch {
	case want == nil && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != nil && err == nil:
		t.Errorf("no error, want %v", want)
	case want != nil && want != errAny && !errors.Is(err, want):
		t.Errorf("error %v, want %v", err, want)
	}
	if err != nil && !c.noEntry {
		var ee *EntryError
		if !errors.As(err, &ee) || ee.Name == "" {
			t.Errorf("error %v does not name the entry", err)
		}
	}
	if err == nil && c.check != nil {
		c.check(t, target, mode)
	}
	if diffs := testutil.DiffTrees(before, testutil.Tree(t, out, testutil.TreeOptions{MTime: true})); len(diffs) > 0 {
		t.Errorf("sentinel changed: %v", diffs)
	}
	if fi, _ := os.Stat(out); fi.Mode() != outInfo.Mode() || !fi.ModTime().Equal(outInfo.ModTime()) {
		t.Errorf("sentinel dir changed: %v -> %v", outInfo.Mode(), fi.Mode())
	}
	ents, _ := os.ReadDir(base)
	if len(ents) != 3 {
		t.Errorf("entries beside the target: %v", ents)
	}
}

func TestMaliciousLayers(t *testing.T) {
	testutil.RequireRoot(t)
	cases := maliciousCases()
	if len(cases) < 30 {
		t.Fatalf("corpus has %d cases", len(cases))
	}
	for _, walk := range []bool{false, true} {
		for _, mode := range []Mode{Flat, Overlay} {
			name := map[Mode]string{Flat: "flat", Overlay: "overlay"}[mode]
			if walk {
				name += "-walk"
			}
			t.Run(name, func(t *testing.T) {
				old := forceWalk
				forceWalk = walk
				defer func() { forceWalk = old }()
				for _, c := range cases {
					t.Run(c.name, func(t *testing.T) { runMalicious(t, c, mode) })
				}
			})
		}
	}
}
