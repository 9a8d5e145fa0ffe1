package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ctrlite/ctr-lite/pkg/runner/apparmor"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// WriteBundle writes dir/config.json from s (built by spec.Build with
// rootfs dir/rootfs) so that `runc run -b dir ID` and `crun run -b dir ID`
// run it as Run would: Root.Path becomes the relative "rootfs", the
// hostname defaults to the short id, and hosts, hostname and resolv.conf
// are written into dir and bind-mounted. The rootfs itself is the
// caller's (e.g. a flat unpack into dir/rootfs).
func WriteBundle(dir, id string, s *specs.Spec) error {
	if s == nil || s.Root == nil || s.Linux == nil {
		return fmt.Errorf("write bundle %s: %w: incomplete spec", dir, ErrInvalidConfig)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	b := *s
	b.Root = &specs.Root{Path: "rootfs", Readonly: s.Root.Readonly}
	if s.Process != nil {
		proc := *s.Process
		if proc.ApparmorProfile, err = apparmor.Resolve(context.Background(), proc.ApparmorProfile); err != nil {
			return fmt.Errorf("write bundle %s: %w", dir, err)
		}
		b.Process = &proc
	}
	if b.Hostname == "" {
		b.Hostname = shortID(id)
	}
	etc, err := EtcFiles(abs, &b)
	if err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	b.Mounts = append(append([]specs.Mount(nil), s.Mounts...), etc...)
	data, err := json.MarshalIndent(&b, "", "\t")
	if err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	tmp := filepath.Join(abs, ".config.json.tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	if err := os.Rename(tmp, filepath.Join(abs, "config.json")); err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	return nil
}
