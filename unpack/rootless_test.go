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
func TestRootlessUnprivileged(t *testing.T) {
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
	cmd := exec.Command(bin, "-test.run=^TestRootlessChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), rootlessEnv+"="+target)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestRootlessChild") {
		t.Fatalf("child as 65534: %v\n%s", err, out)
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
		Mode: Overlay, Rootless: true, Skipped: func(n, r string) { skipped = append(skipped, n+": "+r) },
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
