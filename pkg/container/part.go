package container

import (
	"context"
	"errors"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/ctrlite/ctr-lite/pkg/runner/cgroups"
)

// Name is the store's part name under the data root.
func (s *Store) Name() string { return dataroot.Containers }

// Refs names the snapshot chains that container records use, running or
// not: gc keeps them (dataroot.Referrer).
func (s *Store) Refs(ctx context.Context) (dataroot.Refs, error) {
	chains, err := s.Chains(ctx)
	if err != nil {
		return nil, err
	}
	refs := dataroot.Refs{}
	for c := range chains {
		refs.Add(dataroot.Snapshots, c.String())
	}
	return refs, nil
}

// Collect keeps every container until `rm` (dataroot.Part), but removes
// the cgroup directories of exited ones that a killed `ctr-lite run` left,
// and detaches their networks (CNI DEL, netns unmounted): these hold no
// data, and are not reported.
func (s *Store) Collect(ctx context.Context, _ dataroot.Refs, dryRun bool) (dataroot.Freed, error) {
	if dryRun {
		return dataroot.Freed{}, nil
	}
	list, err := s.List(ctx)
	if err != nil {
		return dataroot.Freed{}, err
	}
	for _, c := range list {
		// Created and unused: its run died before the process started.
		if (c.Status == Exited || c.Status == Created) && c.NetNS != "" && !s.inUse(c.ID) {
			// One that fails (a plugin gone) is tried again by the next gc
			// and by rm, which reports why.
			_ = s.DetachNetwork(ctx, c.ID)
		}
		if c.Status != Exited || c.Cgroup == "" {
			continue
		}
		if cgroups.Remove(c.Cgroup) != nil {
			continue // one a process still holds stays, for the next gc
		}
		// Gone: the next gc need not look for it again.
		if _, err := s.Update(ctx, c.ID, func(r *Container) error { r.Cgroup = ""; return nil }); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return dataroot.Freed{}, err
		}
	}
	return dataroot.Freed{}, nil
}

// Check is Fsck (dataroot.Part).
func (s *Store) Check(ctx context.Context, repair bool) ([]dataroot.Problem, error) {
	return s.Fsck(ctx, repair)
}
