package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RequireRoot skips the test unless it runs as root. Tests that mount,
// create namespaces or cgroups, or make device nodes call it; CI runs as
// root, so they run there.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mounts, namespaces or cgroups); CI runs as root")
	}
}

// Corpus returns the directory of real test images named by CTRLITE_CORPUS
// (the Makefile points it at ../shared/corpus), or skips the test with a
// clear message when it is unset. A set but missing directory fails the test.
func Corpus(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("CTRLITE_CORPUS")
	if dir == "" {
		t.Skip("CTRLITE_CORPUS is not set: run through `make test`, or export CTRLITE_CORPUS=../shared/corpus")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("corpus path %q: %v", dir, err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("CTRLITE_CORPUS=%q: %v", dir, err)
	}
	return abs
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
