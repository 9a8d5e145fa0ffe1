package rootfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/unpack"
)

// ErrNotEmpty: the target directory exists and has entries.
var ErrNotEmpty = errors.New("target directory is not empty")

// Options tune Flatten.
type Options struct {
	// Rootless: no device nodes, no chown. Always so when st's data root
	// is rootless (dataroot.Root.Rootless); set it to ask for it as root.
	Rootless bool
	// Skipped is told about entries, xattrs and owners not applied in
	// rootless mode.
	Skipped func(unpack.Skip)
	// Open returns a layer blob's bytes; default: the store's committed
	// blob (content.Store.Follow unpacks while a pull downloads).
	Open content.Opener
	// Sequential applies the layers one after the other into dir. By
	// default, as root and for two layers or more, they are applied in
	// parallel beside dir and merged into it with renames.
	Sequential bool
}

// Flatten writes img's root filesystem into dir, which must be empty or
// absent. On error the partial tree is left for the caller to inspect or
// remove. Nothing is written outside dir but, for the parallel path, a
// temporary .ctr-lite-unpack-* directory beside it, removed at the end.
func Flatten(ctx context.Context, st *content.Store, img *image.Image, dir string, opts Options) (unpack.Stats, error) {
	var total unpack.Stats
	if err := prepareDir(dir); err != nil {
		return total, fmt.Errorf("unpack %s: %w", img.Name, err)
	}
	diffIDs := img.DiffIDs()
	uo := unpack.Options{Mode: unpack.Flat, Rootless: opts.Rootless || st.Root().Rootless(), Skipped: opts.Skipped}
	open := opts.Open
	if open == nil {
		open = st.Opener()
	}
	if !opts.Sequential && !uo.Rootless && len(img.Manifest.Layers) > 1 {
		stats, err := flattenParallel(ctx, img, dir, open, opts)
		if !errors.Is(err, errNoWorkDir) {
			if err != nil {
				return stats, fmt.Errorf("unpack %s: %w", img.Name, err)
			}
			return stats, nil
		}
	}
	for i, l := range img.Manifest.Layers {
		blob, err := open(ctx, l)
		if err != nil {
			return total, fmt.Errorf("unpack %s: layer %d: %w", img.Name, i+1, err)
		}
		got, ls, err := unpack.ApplyLayer(ctx, dir, blob, l.MediaType, uo)
		blob.Close()
		if err != nil {
			return total, fmt.Errorf("unpack %s: layer %d %s: %w", img.Name, i+1, l.Digest, err)
		}
		if i < len(diffIDs) && got != diffIDs[i] {
			return total, fmt.Errorf("unpack %s: layer %d %s: uncompressed digest %s, config says %s", img.Name, i+1, l.Digest, got, diffIDs[i])
		}
		add(&total, ls)
	}
	return total, nil
}

func add(t *unpack.Stats, s unpack.Stats) {
	t.Entries += s.Entries
	t.Files += s.Files
	t.Dirs += s.Dirs
	t.Symlinks += s.Symlinks
	t.Hardlinks += s.Hardlinks
	t.Whiteouts += s.Whiteouts
	t.Bytes += s.Bytes
}

// prepareDir creates dir, or checks that it is an empty directory.
func prepareDir(dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if len(names) > 0 {
		return fmt.Errorf("%w: %s", ErrNotEmpty, dir)
	}
	return nil
}
