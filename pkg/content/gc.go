package content

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// GCOptions tunes GC.
type GCOptions struct {
	DryRun bool // report what would go, delete nothing
}

// GCResult is what GC freed (or would free, on a dry run).
type GCResult struct {
	Blobs    []Info // unreachable blobs
	Partials int    // abandoned partial downloads
	Bytes    int64  // bytes of both
}

// reachable marks every blob reachable from index.json: image indexes,
// manifests (OCI and Docker), their configs and layers. Missing or
// unreadable blobs end the walk on that branch (fsck reports them).
func (s *Store) reachable(ctx context.Context) (map[digest.Digest]bool, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	seen := map[digest.Digest]bool{}
	stack := append([]ocispec.Descriptor(nil), idx.Manifests...)
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[d.Digest] || checkDigest(d.Digest) != nil {
			continue
		}
		seen[d.Digest] = true
		kids, err := s.children(ctx, d)
		if err != nil {
			continue
		}
		stack = append(stack, kids...)
	}
	return seen, nil
}

// GC deletes every blob no name reaches and every partial download that
// no writer holds. It waits (until ctx ends) for all leases to go, and
// holds pulls off while it runs. (Package gc collects every part of a
// root under one hold; this is the content store's share of it, alone.)
func (s *Store) GC(ctx context.Context, opts GCOptions) (GCResult, error) {
	done, err := s.root.Collecting(ctx)
	if err != nil {
		return GCResult{}, fmt.Errorf("gc: %w", err)
	}
	defer done()
	return s.collect(ctx, opts.DryRun)
}

// collect is GC for a caller that holds the gc lock.
func (s *Store) collect(ctx context.Context, dryRun bool) (GCResult, error) {
	var res GCResult
	keep, err := s.reachable(ctx)
	if err != nil {
		return res, fmt.Errorf("gc: %w", err)
	}
	err = s.Walk(ctx, func(in Info) error {
		if keep[in.Digest] {
			return nil
		}
		if !dryRun {
			if err := os.Remove(s.blobPath(in.Digest)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		res.Blobs = append(res.Blobs, in)
		res.Bytes += in.Size
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("gc: %w", err)
	}
	if err := s.gcIngest(dryRun, &res); err != nil {
		return res, fmt.Errorf("gc: %w", err)
	}
	if !dryRun && len(res.Blobs) > 0 {
		SyncDir(filepath.Join(s.layout, "blobs", "sha256"))
	}
	return res, nil
}

// Partials counts the partial downloads kept for resuming (and temporary
// files left beside them) and their bytes: what gc frees once no pull
// holds them.
func (s *Store) Partials() (n int, bytes int64, err error) {
	ents, err := os.ReadDir(s.ingest)
	if err != nil {
		return 0, 0, fmt.Errorf("list partial downloads: %w", err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".lock") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n++
			bytes += fi.Size()
		}
	}
	return n, bytes, nil
}

// gcIngest removes partials and lock files nobody holds.
func (s *Store) gcIngest(dryRun bool, res *GCResult) error {
	dir := s.ingest
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".lock") {
			continue
		}
		lockPath := filepath.Join(dir, name+".lock")
		release, ok, err := dataroot.TryLockFile(lockPath, dataroot.Exclusive, true)
		if err != nil || !ok {
			continue // held by a live writer (or unreadable): leave it
		}
		var size int64
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			size = fi.Size()
		}
		if !dryRun {
			os.Remove(filepath.Join(dir, name))
			os.Remove(lockPath)
		}
		release()
		res.Partials++
		res.Bytes += size
	}
	if dryRun {
		return nil
	}
	for _, e := range ents { // lock files whose partial is gone
		name := e.Name()
		if !strings.HasSuffix(name, ".lock") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, strings.TrimSuffix(name, ".lock"))); err == nil {
			continue
		}
		lockPath := filepath.Join(dir, name)
		release, ok, err := dataroot.TryLockFile(lockPath, dataroot.Exclusive, true)
		if err != nil || !ok {
			continue
		}
		os.Remove(lockPath)
		release()
	}
	return nil
}
