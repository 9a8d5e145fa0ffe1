package content

import (
	"context"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
)

// Name is the store's part name under the data root.
func (s *Store) Name() string { return dataroot.Content }

// Collect is the store's share of a root-wide gc (dataroot.Part): blobs no
// name reaches and partial downloads nobody holds. The caller holds the gc
// lock; the store keeps nothing for other parts, so keep is not consulted.
func (s *Store) Collect(ctx context.Context, _ dataroot.Refs, dryRun bool) (dataroot.Freed, error) {
	res, err := s.collect(ctx, dryRun)
	f := dataroot.Freed{Bytes: res.Bytes, Counts: []dataroot.Count{{What: "blobs", N: len(res.Blobs)}, {What: "partial downloads", N: res.Partials}}}
	for _, b := range res.Blobs {
		f.Items = append(f.Items, dataroot.Item{Kind: "blob", ID: b.Digest.String(), Size: b.Size})
	}
	return f, err
}

// Check is Fsck as a dataroot.Part.
func (s *Store) Check(ctx context.Context, repair bool) ([]dataroot.Problem, error) {
	return s.Fsck(ctx, repair)
}
