package main

import (
	"os"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/runner"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// TestWriteBenchBundle writes the bundle used for the by-hand comparison
// when RUNBENCH_BUNDLE names a directory holding rootfs/.
func TestWriteBenchBundle(t *testing.T) {
	dir := os.Getenv("RUNBENCH_BUNDLE")
	if dir == "" {
		t.Skip("RUNBENCH_BUNDLE not set")
	}
	s, err := rspec.Build(ocispec.ImageConfig{Cmd: []string{"true"}}, filepath.Join(dir, "rootfs"), rspec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.WriteBundle(dir, "bench", s); err != nil {
		t.Fatal(err)
	}
}
