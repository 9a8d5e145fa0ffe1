package testutil

import (
	"archive/tar"
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// AlpineMinirootfs is the corpus tarball the corpus Alpine image packages.
const AlpineMinirootfs = "alpine-minirootfs-3.20.3-x86_64.tar.gz"

// BusyboxBinary is Debian's static busybox (package busybox-static), the
// one program in the built images.
const BusyboxBinary = "/bin/busybox"

// builders build the images ImageLayout serves without the corpus; each
// returns the image and its reference name.
// Layers are written to files in dir, never held in memory: a test
// process that grew by the Debian base would report that growth as the
// peak RSS of every child it starts afterwards.
var builders = map[string]func(t testing.TB, dir string) (v1.Image, string){
	Busybox: func(t testing.TB, dir string) (v1.Image, string) {
		return imageOf(t, dir, []string{"sh"}, layerSpec{entries: busyboxTree(t), createdBy: "testutil: Debian busybox-static, applets as hard links"}), "busybox:built"
	},
	Alpine: func(t testing.TB, dir string) (v1.Image, string) {
		return imageOf(t, dir, []string{"/bin/sh"}, layerSpec{entries: miniTree(t), createdBy: "testutil: Debian busybox-static, applets as symbolic links"}), "busybox-mini:built"
	},
	Debian: func(t testing.TB, dir string) (v1.Image, string) {
		return imageOf(t, dir, []string{"/bin/sh"},
			layerSpec{entries: baseTree(t), big: baseData(), createdBy: "testutil: generated base laid out like debootstrap --variant=minbase (merged /usr, busybox as coreutils)"},
			layerSpec{entries: topTree(t), createdBy: "testutil: add busybox-static docs; rm /etc/motd; rm -rf /usr/share/man; rm -rf /var/log && mkdir /var/log"},
		), "two-layer-whiteouts:built"
	},
}

// busyboxBinary returns BusyboxBinary, skipping the test (failing it under
// CI=true) when it is missing or not static: the images run it with no
// libraries beside it.
func busyboxBinary(t testing.TB) string {
	t.Helper()
	f, err := elf.Open(BusyboxBinary)
	if err != nil {
		Skipf(t, "%s: %v (apt-get install busybox-static, or make deps)", BusyboxBinary, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			Skipf(t, "%s is dynamically linked (apt-get install busybox-static, or make deps)", BusyboxBinary)
		}
	}
	return BusyboxBinary
}

// applets lists busybox's applets, without busybox itself.
func applets(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command(busyboxBinary(t), "--list").Output()
	if err != nil {
		t.Fatalf("%s --list: %v", BusyboxBinary, err)
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if n != "busybox" && !strings.Contains(n, "/") {
			names = append(names, n)
		}
	}
	return names
}

func busyboxBytes(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(busyboxBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// layerSpec is one layer of a built image: its entries, then big regular
// files generated as they are written, and its history line.
type layerSpec struct {
	entries   []Entry
	big       []bigFile
	createdBy string
}

// bigFile is a regular file of size bytes that write produces.
type bigFile struct {
	name  string
	size  int64
	write func(io.Writer) error
}

// imageOf builds a linux/amd64 OCI image of gzip layers with cmd as Cmd;
// the layers are files in dir.
func imageOf(t testing.TB, dir string, cmd []string, layers ...layerSpec) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for i, l := range layers {
		path := filepath.Join(dir, fmt.Sprintf("layer%d.tar.gz", i))
		gzipLayer(t, path, l)
		layer, err := tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			t.Fatalf("built layer: %v", err)
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: l.createdBy, Comment: "built by internal/testutil"}})
		if err != nil {
			t.Fatalf("built image: %v", err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("built config: %v", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Cmd = cmd
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatalf("built config: %v", err)
	}
	return img
}

// gzipLayer writes a layer's entries and big files to path as a gzip tar
// stream (the tar stream of Layer).
func gzipLayer(t testing.TB, path string, l layerSpec) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, e := range l.entries {
		h := Header(e)
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("layer: header %q: %v", e.Name, err)
		}
		if _, err := tw.Write(e.Content); err != nil && h.Typeflag == tar.TypeReg {
			t.Fatalf("layer: write %q: %v", e.Name, err)
		}
	}
	for _, b := range l.big {
		if err := tw.WriteHeader(Header(Entry{Name: b.name, Size: b.size})); err != nil {
			t.Fatalf("layer: header %q: %v", b.name, err)
		}
		if err := b.write(tw); err != nil {
			t.Fatalf("layer: write %q: %v", b.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("layer: %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("layer: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("layer: %v", err)
	}
}

func mode(e Entry, m int64) Entry { e.Mode = m; return e }

func owner(e Entry, uid, gid int) Entry { e.UID, e.GID = uid, gid; return e }

// busyboxTree is docker's busybox image made from Debian's binary.
func busyboxTree(t testing.TB) []Entry {
	es := []Entry{Dir("bin/"), mode(File("bin/busybox", ""), 0o755)}
	es[1].Content = busyboxBytes(t)
	for _, a := range applets(t) {
		es = append(es, Hardlink("bin/"+a, "bin/busybox"))
	}
	return append(es,
		Dir("dev/"), Dir("etc/"),
		File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nbin:x:2:2:bin:/bin:/bin/false\n"+
			"sys:x:3:3:sys:/dev:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n"),
		File("etc/group", "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nwheel:x:10:root\nwww-data:x:33:\nusers:x:100:\nnobody:x:65534:\n"),
		mode(File("etc/shadow", "root:*::0:::::\nnobody:*::0:::::\n"), 0o600),
		owner(Dir("home/"), 65534, 65534), mode(Dir("root/"), 0o700), mode(Dir("tmp/"), 0o1777),
		Dir("usr/"), Dir("usr/bin/"), Symlink("usr/bin/env", "../../bin/env"), owner(Dir("usr/sbin/"), 1, 1),
		Dir("var/"), Dir("var/spool/"), owner(Dir("var/spool/mail/"), 8, 8), Dir("var/www/"),
	)
}

// miniRelease is the built Alpine image's /etc/os-release.
const miniRelease = "NAME=\"ctr-lite test image\"\nID=ctrlite-mini\nPRETTY_NAME=\"busybox-static with symbolic links (internal/testutil)\"\n"

// miniTree is a busybox root laid out like Alpine's: applets are symbolic
// links to /bin/busybox, users and groups as Alpine has them.
func miniTree(t testing.TB) []Entry {
	es := []Entry{Dir("bin/"), mode(File("bin/busybox", ""), 0o755)}
	es[1].Content = busyboxBytes(t)
	for _, a := range applets(t) {
		es = append(es, Symlink("bin/"+a, "/bin/busybox"))
	}
	return append(es,
		Dir("dev/"), Dir("etc/"), File("etc/os-release", miniRelease),
		File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\ndaemon:x:2:2:daemon:/sbin:/sbin/nologin\n"+
			"mail:x:8:12:mail:/var/mail:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n"),
		File("etc/group", "root:x:0:root\nbin:x:1:root,bin,daemon\ndaemon:x:2:root,bin,daemon\nadm:x:4:root,daemon\nwheel:x:10:root\n"+
			"mail:x:12:mail\nusers:x:100:\nnogroup:x:65533:\nnobody:x:65534:\n"),
		owner(mode(File("etc/shadow", "root:*::0:::::\n"), 0o640), 0, 42),
		Dir("home/"), mode(Dir("root/"), 0o700), Dir("sbin/"), Dir("srv/"), mode(Dir("tmp/"), 0o1777),
		Dir("usr/"), Dir("usr/bin/"), Dir("usr/sbin/"), Dir("var/"), Dir("var/mail/"),
	)
}

// baseTree is the Debian stand-in's first layer but for its data
// (baseData): merged /usr with busybox for coreutils, a setuid file, more
// than 1000 small files, symbolic and hard links.
func baseTree(t testing.TB) []Entry {
	es := []Entry{
		Symlink("bin", "usr/bin"), Symlink("lib", "usr/lib"), Symlink("sbin", "usr/sbin"),
		Dir("etc/"), Dir("home/"), mode(Dir("root/"), 0o700), mode(Dir("tmp/"), 0o1777),
		Dir("usr/"), Dir("usr/bin/"), Dir("usr/lib/"), Dir("usr/lib/testdata/"), Dir("usr/sbin/"),
		Dir("usr/share/"), Dir("usr/share/doc/"), Dir("usr/share/man/"), Dir("usr/share/man/man1/"),
		Dir("var/"), Dir("var/log/"), Dir("var/log/apt/"),
		File("etc/os-release", "PRETTY_NAME=\"ctr-lite two-layer test base\"\nNAME=\"ctr-lite test base\"\nID=ctrlite-base\n"),
		File("etc/hostname", "localhost\n"),
		File("etc/motd", "The programs included with this test image are free software.\n"),
		File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"),
		File("etc/group", "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nnogroup:x:65534:\n"),
		owner(mode(File("etc/shadow", "root:*:19000:0:99999:7:::\n"), 0o640), 0, 42),
		Dir("usr/lib/coreutils/"), mode(File("usr/lib/coreutils/busybox", ""), 0o755),
	}
	es[len(es)-1].Content = busyboxBytes(t)
	names := applets(t)
	for _, a := range names {
		es = append(es, Hardlink("usr/bin/"+a, "usr/lib/coreutils/busybox"))
	}
	es = append(es, mode(File("usr/bin/setuid-test", "#!/bin/sh\nid\n"), 0o4755),
		Dir("var/lib/"), Dir("var/lib/dpkg/"), File("var/lib/dpkg/status", dpkgStatus))
	for _, a := range names[:120] {
		es = append(es, File("usr/share/man/man1/"+a+".1", ".TH "+strings.ToUpper(a)+" 1\n.SH NAME\n"+a+" \\- busybox applet\n"))
	}
	for i := range 1000 {
		d := fmt.Sprintf("usr/share/doc/pkg%03d/", i)
		es = append(es, Dir(d), File(d+"copyright", fmt.Sprintf("Package pkg%03d\nLicense: test data, generated\n", i)))
		if i%3 == 0 {
			es = append(es, Symlink(d+"README", "copyright"))
		}
	}
	es = append(es, File("var/log/dpkg.log", "2026-01-01 00:00:00 startup archives unpack\n"),
		File("var/log/apt/history.log", "Start-Date: 2026-01-01 00:00:00\n"))
	return es
}

// baseData is the Debian stand-in's 108 MB of data: three 8 MiB files of
// random bytes and three 28 MiB text files that gzip shrinks about 6 times.
func baseData() []bigFile {
	var out []bigFile
	for i := range 3 {
		seed := [32]byte{'c', 't', 'r', '-', 'l', 'i', 't', 'e', byte(i)}
		out = append(out, bigFile{fmt.Sprintf("usr/lib/testdata/random-%d.bin", i), 8 << 20, func(w io.Writer) error {
			_, err := io.CopyN(w, rand.NewChaCha8(seed), 8<<20)
			return err
		}})
	}
	const textSize = 28 << 20
	for i := range 3 {
		out = append(out, bigFile{fmt.Sprintf("usr/lib/testdata/text-%d.txt", i), textSize, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 64<<10)
			line := make([]byte, 0, 64)
			for n, written := 0, 0; written < textSize; n++ {
				line = fmt.Appendf(line[:0], "%09d %09d compressible test data\n", n, n*7919%1000003)
				if rest := textSize - written; len(line) > rest {
					line = line[:rest]
				}
				if _, err := bw.Write(line); err != nil {
					return err
				}
				written += len(line)
			}
			return bw.Flush()
		}})
	}
	return out
}

// dpkgStatus is the base layer's var/lib/dpkg/status; the top layer
// appends busybox-static to it, as dpkg -i does.
const dpkgStatus = "Package: base-files\nStatus: install ok installed\nVersion: 12.4\n"

// topTree is the Debian stand-in's second layer: busybox-static's files,
// dpkg's status rewritten, and the whiteouts and opaque marker of
// `rm /etc/motd`, `rm -rf /usr/share/man` and `rm -rf /var/log && mkdir /var/log`.
func topTree(t testing.TB) []Entry {
	bb := mode(File("usr/bin/busybox", ""), 0o755)
	bb.Content = busyboxBytes(t)
	return []Entry{
		Dir("etc/"), File("etc/.wh.motd", ""),
		Dir("usr/"), Dir("usr/share/"), File("usr/share/.wh.man", ""),
		Dir("usr/share/doc/"), Dir("usr/share/doc/busybox-static/"),
		File("usr/share/doc/busybox-static/copyright", "busybox-static: GPL-2, from Debian\n"),
		Dir("usr/bin/"), bb, Symlink("usr/bin/static-sh", "busybox"),
		Dir("var/lib/"), Dir("var/lib/dpkg/"),
		File("var/lib/dpkg/status", dpkgStatus+"\nPackage: busybox-static\nStatus: install ok installed\nVersion: 1:1.35.0-4\n"),
		Dir("var/"), Dir("var/log/"), File("var/log/.wh..wh..opq", ""), File("var/log/README", "Logs go to the journal.\n"),
	}
}

// alpineFromCorpus packages the corpus Alpine minirootfs tarball as a
// one-layer OCI image: the gzip tarball is the layer as is, config Cmd
// ["/bin/sh"], linux/amd64, rootfs.diff_ids set.
func alpineFromCorpus(t testing.TB, path string) v1.Image {
	t.Helper()
	layer, err := tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatalf("alpine layer: %v", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		t.Fatalf("alpine image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("alpine config: %v", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Cmd = []string{"/bin/sh"}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatalf("alpine config: %v", err)
	}
	return img
}
