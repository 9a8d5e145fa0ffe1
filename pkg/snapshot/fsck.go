package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/opencontainers/go-digest"
)

// Fsck checks every snapshot directory: complete (its done marker written
// last), built from a layer that the stored images say makes that chain
// (want maps chain ID to the layer blobs that may build it; chains no
// image names are not judged), and no build directory left by a crash. With repair it removes
// what is broken; the next unpack or run rebuilds it.
func (s *Snapshotter) Fsck(ctx context.Context, want map[digest.Digest]map[digest.Digest]bool, repair bool) ([]dataroot.Problem, error) {
	entries, err := s.entries()
	if err != nil {
		return nil, fmt.Errorf("fsck snapshots: %w", err)
	}
	var probs []dataroot.Problem
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return probs, err
		}
		path := filepath.Join(s.dir, e.Name())
		what := s.check(e.Name(), want)
		if what == "" {
			continue
		}
		if repair {
			if err := removeAll(path); err != nil {
				return probs, fmt.Errorf("fsck snapshots: remove %s: %w", path, err)
			}
			what += " (removed)"
		}
		probs = append(probs, dataroot.Problem{Path: path, What: what})
	}
	return probs, nil
}

// check returns what is wrong with the snapshot directory name, or "".
func (s *Snapshotter) check(name string, want map[digest.Digest]map[digest.Digest]bool) string {
	if strings.HasPrefix(name, "tmp-") {
		if s.building(name) {
			return ""
		}
		return "unfinished snapshot build left by a crash"
	}
	c := digest.NewDigestFromEncoded(digest.SHA256, name)
	if c.Validate() != nil {
		return "unexpected entry in snapshots/"
	}
	if s.building(name) {
		return ""
	}
	b, err := os.ReadFile(s.doneFile(c))
	if err != nil {
		return "incomplete snapshot (no done marker)"
	}
	if _, err := os.Stat(s.Dir(c)); err != nil {
		return "snapshot has a done marker but no fs/ directory"
	}
	built := digest.Digest(strings.TrimSpace(string(b)))
	if blobs, ok := want[c]; ok && !blobs[built] {
		var names []string
		for d := range blobs {
			names = append(names, d.String())
		}
		sort.Strings(names)
		return fmt.Sprintf("snapshot was built from %s, the images say %s", built, strings.Join(names, " or "))
	}
	return ""
}
