package fsck

import (
	"context"
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
)

// Check holds a lease on root (so gc removes nothing under it) and checks
// each part in order. It returns the problems found before an error too.
func Check(ctx context.Context, root *dataroot.Root, parts []dataroot.Part, repair bool) ([]dataroot.Problem, error) {
	release, err := root.Lease(ctx)
	if err != nil {
		return nil, fmt.Errorf("fsck: %w", err)
	}
	defer release()
	var probs []dataroot.Problem
	for _, p := range parts {
		found, err := p.Check(ctx, repair)
		probs = append(probs, found...)
		if err != nil {
			return probs, fmt.Errorf("fsck: %s: %w", p.Name(), err)
		}
	}
	return probs, nil
}
