package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SkopeoInspect checks that skopeo reads an exported archive: transport
// is "oci-archive" or "docker-archive"; arch, when set, is the
// --override-arch for an index that lacks this machine's platform. When
// skopeo is not installed it returns false after logging why (an error
// under CI=true), and the calling test goes on.
func SkopeoInspect(t testing.TB, transport, path, arch string) bool {
	t.Helper()
	if _, err := exec.LookPath("skopeo"); err != nil {
		missing(t, "skopeo not installed (make deps): %s not checked with it", path)
		return false
	}
	args := []string{"inspect", transport + ":" + path}
	if arch != "" {
		args = append([]string{"--override-arch", arch}, args...)
	}
	if out, err := exec.Command("skopeo", args...).CombinedOutput(); err != nil {
		t.Errorf("skopeo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return true
}

// missing reports a judge tool that is not installed without ending the
// test: an error under CI=true, a log line otherwise.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Errorf(format, args...)
		return
	}
	t.Logf(format, args...)
}

// PodmanLoad checks that `podman load` accepts an exported archive, in a
// throw-away podman store (vfs driver, so it works without overlay
// support). It returns podman's output, or "" after logging why when
// podman is not installed (an error under CI=true); the test goes on.
func PodmanLoad(t testing.TB, path string) string {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		missing(t, "podman not installed (make deps): %s not loaded with it", path)
		return ""
	}
	dir, err := os.MkdirTemp("", "podman") // podman wants a runroot under 50 bytes
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("podman", "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--storage-driver", "vfs", "load", "-i", path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("podman load -i %s: %v\n%s", path, err, out)
	}
	return string(out)
}
