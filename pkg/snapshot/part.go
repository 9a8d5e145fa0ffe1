package snapshot

import (
	"context"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/opencontainers/go-digest"
)

// Name is the snapshotter's part name under the data root.
func (s *Snapshotter) Name() string { return dataroot.Snapshots }

// Collect is the snapshots' share of a root-wide gc (dataroot.Part): it
// keeps every chain a stored image needs and every chain keep names under
// dataroot.Snapshots (containers' root filesystems), and removes the rest and abandoned
// builds. The caller holds the gc lock.
func (s *Snapshotter) Collect(ctx context.Context, keep dataroot.Refs, dryRun bool) (dataroot.Freed, error) {
	stored, err := Stored(ctx, s.st)
	if err != nil {
		return dataroot.Freed{}, err
	}
	chains := map[digest.Digest]bool{}
	for c := range stored {
		chains[c] = true
	}
	for c := range keep[dataroot.Snapshots] {
		chains[digest.Digest(c)] = true
	}
	res, err := s.GC(ctx, chains, dryRun)
	return dataroot.Freed{Items: res.Removed, Bytes: res.Bytes,
		Counts: []dataroot.Count{{What: "snapshots", N: len(res.Removed)}, {What: "unfinished snapshot builds", N: res.Temp}}}, err
}

// Check is Fsck against the chains of the stored images (dataroot.Part).
func (s *Snapshotter) Check(ctx context.Context, repair bool) ([]dataroot.Problem, error) {
	want, err := Stored(ctx, s.st)
	if err != nil {
		return nil, err
	}
	return s.Fsck(ctx, want, repair)
}
