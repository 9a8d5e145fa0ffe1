package gc

import (
	"context"
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/snapshot"
	"github.com/opencontainers/go-digest"
)

// Options tune Collect.
type Options struct {
	DryRun bool
	// InUse returns the chain IDs that containers use (running or kept);
	// their snapshots stay even when no image needs them any more.
	InUse func(ctx context.Context) (map[digest.Digest]bool, error)
}

// Result is what Collect freed, or would free on a dry run.
type Result struct {
	Content   content.GCResult
	Snapshots snapshot.GCResult
}

// Collect runs content gc, then snapshot gc against the chains of every
// image still stored.
func Collect(ctx context.Context, st *content.Store, opts Options) (*Result, error) {
	res := &Result{}
	sn, err := snapshot.New(st)
	if err != nil {
		return nil, err
	}
	snapshots := func(ctx context.Context) error {
		keep, err := needed(ctx, st, opts.InUse)
		if err != nil {
			return err
		}
		res.Snapshots, err = sn.GC(ctx, keep, opts.DryRun)
		return err
	}
	if res.Content, err = st.GC(ctx, content.GCOptions{DryRun: opts.DryRun, Also: snapshots}); err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	return res, nil
}

// needed is every chain a stored image or a container uses.
func needed(ctx context.Context, st *content.Store, inUse func(context.Context) (map[digest.Digest]bool, error)) (map[digest.Digest]bool, error) {
	stored, err := snapshot.Stored(ctx, st)
	if err != nil {
		return nil, err
	}
	keep := map[digest.Digest]bool{}
	for c := range stored {
		keep[c] = true
	}
	if inUse != nil {
		used, err := inUse(ctx)
		if err != nil {
			return nil, fmt.Errorf("containers: %w", err)
		}
		for c := range used {
			keep[c] = true
		}
	}
	return keep, nil
}
