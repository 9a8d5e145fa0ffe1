package container

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Chains returns the snapshot chain IDs that any container record uses,
// running or not: gc must keep them.
func (s *Store) Chains(ctx context.Context) (map[digest.Digest]bool, error) {
	list, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := map[digest.Digest]bool{}
	for _, c := range list {
		for _, ch := range c.Chains {
			out[digest.Digest(ch)] = true
		}
	}
	return out, nil
}

// Fsck reports mounts under <root>/containers that no running container
// (or one a `run` still uses, see Store.Use) owns (left by a killed ctr-lite that mounted a rootfs on the host, as
// `run --runtime` does); repair unmounts them.
func (s *Store) Fsck(ctx context.Context, repair bool) ([]dataroot.Problem, error) {
	list, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	running := map[string]bool{}
	for _, c := range list {
		if c.Status == Running || s.inUse(c.ID) {
			running[c.ID] = true
		}
	}
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(s.dir))
	if err != nil {
		return nil, fmt.Errorf("fsck containers: %w", err)
	}
	var probs []dataroot.Problem
	for _, m := range mounts {
		rel, err := filepath.Rel(s.dir, m.Mountpoint)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		id := strings.SplitN(rel, string(filepath.Separator), 2)[0]
		if running[id] {
			continue
		}
		what := "mount left by a container that is not running"
		if repair {
			if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil {
				return probs, fmt.Errorf("fsck containers: unmount %s: %w", m.Mountpoint, err)
			}
			what += " (unmounted)"
		}
		probs = append(probs, dataroot.Problem{Path: m.Mountpoint, What: what})
	}
	return probs, nil
}
