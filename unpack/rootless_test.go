package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"golang.org/x/sys/unix"
)

const rootlessEnv = "CTRLITE_UNPACK_ROOTLESS_DIR"

// TestRootlessUnprivileged runs TestRootlessChild as uid/gid 65534, so
// that rootless mode meets the kernel's real refusals.
func TestRootlessUnprivileged(t *testing.T) { runAsNobody(t, "TestRootlessChild") }

// runAsNobody runs the test child of this binary as uid/gid 65534, with
// rootlessEnv naming a target directory it owns.
func runAsNobody(t *testing.T, child string) {
	testutil.RequireRoot(t)
	dir, err := os.MkdirTemp("", "unpack-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "unpack.test")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(dst, src)
	src.Close()
	dst.Close()
	target := filepath.Join(dir, "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, target} {
		os.Chmod(p, 0o755)
		os.Chown(p, 65534, 65534)
	}
	cmd := exec.Command(bin, "-test.run=^"+child+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), rootlessEnv+"="+target)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+child) {
		t.Fatalf("child as 65534: %v\n%s", err, out)
	}
}

// TestRootlessSkipKinds: a rootless unpack says per kind what it did not
// reproduce: a device node, a security.capability xattr, an owner.
func TestRootlessSkipKinds(t *testing.T) { runAsNobody(t, "TestRootlessSkipKindsChild") }

func TestRootlessSkipKindsChild(t *testing.T) {
	target := os.Getenv(rootlessEnv)
	if target == "" {
		t.Skip("run by TestRootlessSkipKinds")
	}
	layer := testutil.Layer(t, []testutil.Entry{
		{Type: tar.TypeChar, Name: "dev/null", DevMajor: 1, DevMinor: 3, UID: 65534, GID: 65534},
		{Type: tar.TypeBlock, Name: "dev/sda", DevMajor: 8, DevMinor: 0},
		{Name: "ping", UID: 65534, GID: 65534, Content: []byte("x"), Xattrs: map[string]string{"security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}},
		{Name: "owned", UID: 1000, GID: 1001, Content: []byte("x")},
		{Type: tar.TypeSymlink, Name: "link", Linkname: "owned", UID: 0, GID: 0},
		{Name: "mine", UID: 65534, GID: 65534, Content: []byte("x")},
	})
	var got []string
	_, err := Apply(context.Background(), target, bytes.NewReader(layer), Options{Rootless: true, Skipped: func(s Skip) {
		got = append(got, s.Path+"|"+s.Kind+"|"+s.Detail)
		if s.Reason == "" {
			t.Errorf("%+v gives no reason", s)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"dev/null|" + SkipDevice + "|char 1:3",
		"dev/sda|" + SkipDevice + "|block 8:0",
		"ping|" + SkipXattr + "|security.capability",
		"owned|" + SkipOwner + "|1000:1001",
		"link|" + SkipOwner + "|0:0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRootlessChild(t *testing.T) {
	target := os.Getenv(rootlessEnv)
	if target == "" {
		t.Skip("run by TestRootlessUnprivileged")
	}
	if os.Geteuid() == 0 {
		t.Fatal("child runs as root")
	}
	var skipped []string
	layer := testutil.Layer(t, []testutil.Entry{
		{Type: tar.TypeChar, Name: "dev/null", DevMajor: 1, DevMinor: 3},
		{Name: "suid", Mode: 0o4755, Content: []byte("x")},
		{Name: "sgid-root", Mode: 0o2755, GID: 0, Content: []byte("x")},
		{Name: "capped", Content: []byte("x"), Xattrs: map[string]string{"trusted.t": "v", "user.u": "v"}},
		{Type: tar.TypeDir, Name: "ro", Mode: 0o555},
		{Name: "ro/inner", Content: []byte("inside a read-only dir")},
		{Name: "gone/.wh.thing"},
		{Name: "opq/.wh..wh..opq"},
	})
	_, err := Apply(context.Background(), target, bytes.NewReader(layer), Options{
		Mode: Overlay, Rootless: true, Skipped: func(s Skip) {
			if s.Kind != SkipOwner {
				skipped = append(skipped, s.Path+": "+s.Kind+" "+s.Detail+": "+s.Reason)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 2 || !strings.HasPrefix(skipped[0], "dev/null") || !strings.Contains(skipped[1], "trusted.t") {
		t.Errorf("skipped %q", skipped)
	}
	tree := testutil.Tree(t, target, testutil.TreeOptions{})
	if n := tree["suid"]; n.Mode != 0o4755 || int(n.UID) != os.Geteuid() {
		t.Errorf("suid: %+v", n)
	}
	if n := tree["sgid-root"]; n.Mode&0o777 != 0o755 || int(n.GID) != os.Getegid() {
		t.Errorf("sgid-root: %+v", n)
	}
	if n := tree["capped"]; n.Xattrs["user.u"] != "v" {
		t.Errorf("capped: %+v", n)
	}
	if n := tree["ro"]; n.Mode != 0o555 || tree["ro/inner"].Size == 0 {
		t.Errorf("ro: %+v %+v", n, tree["ro/inner"])
	}
	if n := tree["gone/thing"]; n.Type != 'c' || n.Rdev != 0 {
		t.Errorf("whiteout: %+v", n)
	}
	v := make([]byte, 4)
	if n, err := unix.Getxattr(filepath.Join(target, "opq"), "user.overlay.opaque", v); err != nil || string(v[:n]) != "y" {
		t.Errorf("user.overlay.opaque: %v", err)
	}
}
