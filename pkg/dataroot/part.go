package dataroot

import "context"

// Part is one kind of state under a root, as gc and fsck see it.
type Part interface {
	// Name is the part's directory under the root ("content", "snapshots").
	Name() string
	// Collect removes what no stored image and no reference in keep needs,
	// and leftovers of crashes, or only reports them when dryRun. The
	// caller holds the gc lock (Root.Collecting), so no lease holder is
	// adding state meanwhile.
	Collect(ctx context.Context, keep Refs, dryRun bool) (Freed, error)
	// Check reports what is wrong with the part's state; with repair it
	// removes what is broken, never what is valid, so that the next pull,
	// unpack or run brings it back. The caller holds a lease.
	Check(ctx context.Context, repair bool) ([]Problem, error)
}

// Referrer is a part whose records keep other parts' keys alive (a
// container keeps the snapshot chains its root filesystem stacks).
type Referrer interface {
	Part
	Refs(ctx context.Context) (Refs, error)
}

// Refs holds keys that must survive gc, by the name of the part that
// holds them: Refs{"snapshots": {chainID: true}}.
type Refs map[string]map[string]bool

// Add records key of part.
func (r Refs) Add(part, key string) {
	if r[part] == nil {
		r[part] = map[string]bool{}
	}
	r[part][key] = true
}

// Merge adds every key of o.
func (r Refs) Merge(o Refs) {
	for part, keys := range o {
		for k := range keys {
			r.Add(part, k)
		}
	}
}

// Has reports whether key of part is referred to.
func (r Refs) Has(part, key string) bool { return r[part][key] }

// Problem is one thing fsck found wrong.
type Problem struct {
	Path string `json:"path"` // the file concerned
	What string `json:"what"` // what is wrong with it
}

func (p Problem) String() string { return p.Path + ": " + p.What }

// Freed is what a part's Collect removed, or would remove on a dry run.
type Freed struct {
	// Items are the things removed that a user asks about by name.
	Items []Item `json:"items"`
	// Counts say how many of each kind went, in the part's order, zeros
	// included ("blobs", "partial downloads").
	Counts []Count `json:"counts"`
	// Bytes is the disk space of everything removed.
	Bytes int64 `json:"bytes"`
}

// Item is one removed thing.
type Item struct {
	Kind string `json:"kind"` // "blob", "snapshot"
	ID   string `json:"id"`   // its digest or chain ID
	Size int64  `json:"size"` // its bytes on disk
}

// Count is how many things of one kind went.
type Count struct {
	What string `json:"what"` // plural noun: "blobs"
	N    int    `json:"n"`
}
