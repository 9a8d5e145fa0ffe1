package container

import (
	"context"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
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

// Collect removes nothing: a container stays until `rm` (dataroot.Part).
func (s *Store) Collect(context.Context, dataroot.Refs, bool) (dataroot.Freed, error) {
	return dataroot.Freed{}, nil
}

// Check is Fsck (dataroot.Part).
func (s *Store) Check(ctx context.Context, repair bool) ([]dataroot.Problem, error) {
	return s.Fsck(ctx, repair)
}
