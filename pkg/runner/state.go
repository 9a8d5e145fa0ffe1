package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// SpecFile is the file in a container's StateDir that holds the spec its
// init got, after Run's additions (hostname, HOSTNAME, the resolved
// AppArmor profile, the /etc bind mounts): Exec rebuilds the container's
// confinement from it. Mode 0600: it may hold secrets passed with -e.
const SpecFile = "spec.json"

// saveSpec writes s to dir/SpecFile (temp file and rename).
func saveSpec(dir string, s *specs.Spec) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("save spec: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".spec-*")
	if err != nil {
		return fmt.Errorf("save spec: %w", err)
	}
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save spec: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, SpecFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save spec: %w", err)
	}
	return nil
}

// loadSpec reads the spec Run saved in dir; errdefs.ErrNotFound when
// there is none (a container run with --runtime, or by an older ctr-lite).
func loadSpec(dir string) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(dir, SpecFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("load spec: %s (a container run with --runtime, or by an older ctr-lite; `runc exec` or `crun exec` enter theirs): %w",
			filepath.Join(dir, SpecFile), errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load spec: %w", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("load spec %s: %w", filepath.Join(dir, SpecFile), err)
	}
	if s.Process == nil || s.Root == nil || s.Linux == nil {
		return nil, fmt.Errorf("load spec %s: %w", filepath.Join(dir, SpecFile), ErrInvalidConfig)
	}
	return &s, nil
}
