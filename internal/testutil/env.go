package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Skipf skips the test with a reason, or fails it when CI=true: CI has
// every tool, root and image, so a test that cannot run there is broken,
// not optional. Every test that skips for a missing tool, image or
// privilege goes through here.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and the test cannot run: %s", msg)
	}
	t.Skip(msg)
}

// RequireRoot skips the test unless it runs as root. Tests that mount,
// create namespaces or cgroups, or make device nodes call it; CI runs as
// root, so they run there (and fail if they cannot).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skipf(t, "needs root (mounts, namespaces or cgroups); CI runs as root")
	}
}

// RequireTool returns the path of the command name, or skips the test
// naming the Debian package that has it (`make deps` installs them all).
func RequireTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skipf(t, "%s not installed (apt-get install %s, or make deps)", name, pkg)
	}
	return p
}

// CorpusDir returns the directory of real-world test images named by
// CTRLITE_CORPUS (the Makefile points it at ../shared/corpus), and false
// when it is unset. The corpus adds images on top of the built ones (see
// Image); a test that only adds cases from it uses this, not Corpus.
func CorpusDir(t testing.TB) (string, bool) {
	t.Helper()
	dir := os.Getenv("CTRLITE_CORPUS")
	if dir == "" {
		return "", false
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("corpus path %q: %v", dir, err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("CTRLITE_CORPUS=%q: %v", dir, err)
	}
	return abs, true
}

// Corpus returns the corpus directory, or skips the test (fails it under
// CI=true) when CTRLITE_CORPUS is unset. A set but missing directory fails
// the test.
func Corpus(t testing.TB) string {
	t.Helper()
	dir, ok := CorpusDir(t)
	if !ok {
		Skipf(t, "CTRLITE_CORPUS is not set: run through `make test`, or export CTRLITE_CORPUS=../shared/corpus")
	}
	return dir
}

// CorpusFile returns a path inside the corpus, failing if it is missing.
func CorpusFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Corpus(t), rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("corpus entry %s: %v", rel, err)
	}
	return p
}

// Eventually polls cond every 20 ms until it holds, and fails the test
// naming what it waited for after 20 s.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Comm is the command name of process pid ("" when it is gone).
func Comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSuffix(string(b), "\n")
}
