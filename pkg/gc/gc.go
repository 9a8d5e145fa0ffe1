package gc

import (
	"context"
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
)

// Freed is what one part freed.
type Freed struct {
	Part string `json:"part"`
	dataroot.Freed
}

// Collect holds the gc lock of root (waiting, until ctx ends, for every
// lease to go, and keeping pulls off meanwhile), gathers what the parts
// that refer to others keep, then lets each part collect, in order. With
// dryRun nothing is removed; the result says what would be.
func Collect(ctx context.Context, root *dataroot.Root, parts []dataroot.Part, dryRun bool) ([]Freed, error) {
	done, err := root.Collecting(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	defer done()
	keep := dataroot.Refs{}
	for _, p := range parts {
		r, ok := p.(dataroot.Referrer)
		if !ok {
			continue
		}
		refs, err := r.Refs(ctx)
		if err != nil {
			return nil, fmt.Errorf("gc: %s: %w", p.Name(), err)
		}
		keep.Merge(refs)
	}
	var out []Freed
	for _, p := range parts {
		f, err := p.Collect(ctx, keep, dryRun)
		if err != nil {
			return out, fmt.Errorf("gc: %s: %w", p.Name(), err)
		}
		if f.Items == nil { // JSON lists, never null
			f.Items = []dataroot.Item{}
		}
		if f.Counts == nil {
			f.Counts = []dataroot.Count{}
		}
		out = append(out, Freed{Part: p.Name(), Freed: f})
	}
	return out, nil
}
