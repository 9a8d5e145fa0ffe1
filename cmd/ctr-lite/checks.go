package main

import (
	"context"

	"github.com/ctrlite/ctr-lite/pkg/content"
)

// containerChecks are fsck's checks of container state.
func (g *globals) containerChecks() []func(ctx context.Context, repair bool) ([]content.Problem, error) {
	return []func(ctx context.Context, repair bool) ([]content.Problem, error){g.containers().Fsck}
}
