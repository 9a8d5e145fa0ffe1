package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/opencontainers/go-digest"
)

// Info describes one snapshot directory.
type Info struct {
	ChainID  digest.Digest `json:"chain_id"`
	Complete bool          `json:"complete"`
	Path     string        `json:"path"`
}

// List returns every snapshot, complete or not, sorted by chain ID;
// temporary build directories are not listed.
func (s *Snapshotter) List(ctx context.Context) ([]Info, error) {
	entries, err := s.entries()
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var out []Info
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), "tmp-") {
			continue
		}
		c := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if c.Validate() != nil {
			continue
		}
		out = append(out, Info{ChainID: c, Complete: s.Exists(c), Path: filepath.Join(s.dir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ChainID < out[j].ChainID })
	return out, nil
}

// GCResult is what GC removed (or would remove, on a dry run).
type GCResult struct {
	Removed []dataroot.Item // snapshots, by chain ID
	Temp    int             // abandoned build directories
	Bytes   int64           // disk space of both
}

// GC removes snapshots whose chain is not in keep, incomplete snapshots,
// and build directories whose builder is gone. A snapshot being built (its
// lock held) is left alone.
func (s *Snapshotter) GC(ctx context.Context, keep map[digest.Digest]bool, dryRun bool) (GCResult, error) {
	var res GCResult
	entries, err := s.entries()
	if err != nil {
		return res, fmt.Errorf("snapshot gc: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		name := e.Name()
		path := filepath.Join(s.dir, name)
		chain := digest.NewDigestFromEncoded(digest.SHA256, name)
		temp := strings.HasPrefix(name, "tmp-")
		switch {
		case temp && s.building(name):
			continue
		case !temp && (chain.Validate() != nil || (keep[chain] && s.Exists(chain)) || s.building(name)):
			continue
		}
		size := du(path)
		res.Bytes += size
		if temp {
			res.Temp++
		} else {
			res.Removed = append(res.Removed, dataroot.Item{Kind: "snapshot", ID: chain.String(), Size: size})
		}
		if !dryRun {
			if err := removeAll(path); err != nil {
				return res, fmt.Errorf("snapshot gc: remove %s: %w", path, err)
			}
		}
	}
	return res, nil
}

// entries lists the snapshots directory; none before the first build.
func (s *Snapshotter) entries() ([]os.DirEntry, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return entries, err
}

// building reports whether a build lock for the chain named in dir (a
// chain ID, or tmp-<chain>-<random>) is held by some process.
func (s *Snapshotter) building(dir string) bool {
	chain := strings.TrimPrefix(dir, "tmp-")
	if i := strings.IndexByte(chain, '-'); i >= 0 {
		chain = chain[:i]
	}
	return s.locks.Held(chain)
}

// du is the disk usage of a tree in bytes (allocated blocks, so hardlinks
// count once per entry seen; good enough for a report).
func du(root string) int64 {
	var n int64
	filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}
