package rootfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
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
	// Private makes dir mode 0700 as root (not rootless), from its
	// creation to the end, whatever the image's root entry says: only root
	// can then reach the image's setuid files and device nodes, as with
	// umoci. For `unpack`, whose DIR is the root filesystem itself.
	Private bool
	// Sequential applies the layers one after the other into dir. By
	// default, as root and for two layers or more, they are applied in
	// parallel beside dir and merged into it with renames.
	Sequential bool
	// MaxUncompressed, when positive, fails the unpack once the layers'
	// uncompressed streams pass this many bytes in all (unpack.ErrLimit).
	MaxUncompressed int64
}

// Flatten writes img's root filesystem into dir, which must be empty or
// absent. On error (a bad layer, a full disk, a cancel) what was written
// into dir is removed again, leaving dir empty. Nothing is written outside
// dir but, for the parallel path, a temporary .ctr-lite-unpack-* directory
// beside it, removed at the end.
func Flatten(ctx context.Context, st *content.Store, img *image.Image, dir string, opts Options) (unpack.Stats, error) {
	if err := prepareDir(dir); err != nil {
		return unpack.Stats{}, fmt.Errorf("unpack %s: %w", img.Name, err)
	}
	opts.Rootless = opts.Rootless || st.Root().Rootless()
	if opts.Private && !opts.Rootless {
		if err := PrivateDir(dir); err != nil {
			return unpack.Stats{}, fmt.Errorf("unpack %s: %w", img.Name, err)
		}
		// A root entry in a layer sets dir's mode: put 0700 back, on
		// every path.
		defer os.Chmod(dir, 0o700)
	}
	stats, err := flatten(ctx, st, img, dir, opts)
	if err != nil {
		if cerr := emptyTarget(dir); cerr != nil {
			err = fmt.Errorf("%w (cleaning up %s: %v)", err, dir, cerr)
		}
	}
	return stats, err
}

func flatten(ctx context.Context, st *content.Store, img *image.Image, dir string, opts Options) (unpack.Stats, error) {
	var total unpack.Stats
	diffIDs := img.DiffIDs()
	uo := unpack.Options{Mode: unpack.Flat, Rootless: opts.Rootless, UserNS: st.Root().UserNS(), Skipped: opts.Skipped}
	if opts.MaxUncompressed > 0 {
		uo.Budget = unpack.NewBudget(opts.MaxUncompressed)
	}
	open := opts.Open
	if open == nil {
		open = st.Opener()
	}
	if !opts.Sequential && !uo.Rootless && !uo.UserNS && len(img.Manifest.Layers) > 1 {
		stats, err := flattenParallel(ctx, img, dir, open, opts, uo.Budget)
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
			return total, fmt.Errorf("unpack %s: layer %d %s: uncompressed digest %s, config says %s: %w", img.Name, i+1, l.Digest, got, diffIDs[i], errdefs.ErrDiffIDMismatch)
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

// PrivateDir creates dir (and missing parents) or changes an existing dir
// to mode 0700: the directory of an unpacked tree or bundle that holds an
// image's setuid-root files and device nodes, which no other user may
// reach (as umoci does).
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("make %s private: %w", dir, err)
	}
	return nil
}
