package fsck

import (
	"context"
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/snapshot"
)

// Check checks the store and snapshots under st's root. extra checks, such
// as one for mounts left by dead containers, run last and add problems.
func Check(ctx context.Context, st *content.Store, repair bool, extra ...func(ctx context.Context, repair bool) ([]content.Problem, error)) ([]content.Problem, error) {
	probs, err := st.Fsck(ctx, repair)
	if err != nil {
		return probs, fmt.Errorf("fsck: %w", err)
	}
	want, err := snapshot.Stored(ctx, st)
	if err != nil {
		return probs, fmt.Errorf("fsck: %w", err)
	}
	sn, err := snapshot.New(st)
	if err != nil {
		return probs, err
	}
	sp, err := sn.Fsck(ctx, want, repair)
	probs = append(probs, sp...)
	if err != nil {
		return probs, err
	}
	for _, check := range extra {
		p, err := check(ctx, repair)
		probs = append(probs, p...)
		if err != nil {
			return probs, err
		}
	}
	return probs, nil
}
