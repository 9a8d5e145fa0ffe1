package main

import (
	"context"

	"github.com/ctrlite/ctr-lite/pkg/content"
)

// containerChecks are fsck's checks of container state (filled in with the
// runner: mounts and cgroups left by dead containers).
func (g *globals) containerChecks() []func(ctx context.Context, repair bool) ([]content.Problem, error) {
	return nil
}
