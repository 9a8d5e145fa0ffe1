package snapshot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/layers"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/ctrlite/ctr-lite/unpack"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Snapshotter manages the snapshots part of the data root that st lives in.
type Snapshotter struct {
	st    *content.Store
	dir   string
	locks dataroot.Locks // one per chain being built, named by its hex
	opts  unpack.Options
}

// New returns the snapshotter of st's data root. A rootless root gets
// rootless unpacking (no device nodes, no chown); a root used in a user
// namespace gets unpack.Options.UserNS (user.overlay.opaque markers, for
// overlayfs mounted with userxattr). Its directory is made
// by the first build, so a read-only root can be listed and checked.
func New(st *content.Store) (*Snapshotter, error) {
	r := st.Root()
	return &Snapshotter{st: st, dir: r.Dir(dataroot.Snapshots), locks: r.Locks(dataroot.Snapshots), opts: unpack.Options{Mode: unpack.Overlay, Rootless: r.Rootless(), UserNS: r.UserNS()}}, nil
}

// Result says what Prepare did.
type Result struct {
	// Dirs are the layer directories, bottom layer first.
	Dirs []string
	// ChainIDs are the snapshot keys, bottom layer first.
	ChainIDs []digest.Digest
	// Built counts snapshots unpacked now; Reused those already there.
	Built, Reused int
}

// Dir is the directory holding the unpacked files of chain c.
func (s *Snapshotter) Dir(c digest.Digest) string { return filepath.Join(s.dir, c.Encoded(), "fs") }

func (s *Snapshotter) doneFile(c digest.Digest) string {
	return filepath.Join(s.dir, c.Encoded(), "done")
}

// Exists reports whether chain c has a complete snapshot.
func (s *Snapshotter) Exists(c digest.Digest) bool {
	_, err := os.Stat(s.doneFile(c))
	return err == nil
}

// PrepareOptions tune Prepare.
type PrepareOptions struct {
	// Open returns a layer blob's (compressed) bytes; default: the
	// store's committed blob. A pull that unpacks while it downloads
	// passes content.Store.Follow here.
	Open content.Opener
	// Parallel caps how many layers are applied at once; default: the
	// number of CPUs.
	Parallel int
}

// Prepare makes sure every layer of img has a snapshot, building the
// missing ones, and returns their directories. Layers are applied in
// parallel: in overlay form a layer does not depend on the ones below it,
// except in the rare cases (a hardlink to a lower file, a parent directory
// the layer does not list) where it waits for them.
func (s *Snapshotter) Prepare(ctx context.Context, img *image.Image, opts PrepareOptions) (*Result, error) {
	diffIDs := img.DiffIDs()
	descs := img.Manifest.Layers
	if len(diffIDs) != len(descs) {
		return nil, fmt.Errorf("prepare %s: %w (%d diff IDs, %d layers)", img.Name, ErrNoDiffIDs, len(diffIDs), len(descs))
	}
	if opts.Open == nil {
		opts.Open = s.st.Opener()
	}
	if opts.Parallel <= 0 {
		opts.Parallel = runtime.GOMAXPROCS(0)
	}
	chains := ChainIDs(diffIDs)
	res := &Result{ChainIDs: chains}
	for _, c := range chains {
		res.Dirs = append(res.Dirs, s.Dir(c))
	}
	var mu sync.Mutex
	err := layers.Run(ctx, len(descs), opts.Parallel, func(ctx context.Context, i int, wait func() error) error {
		built, err := s.ensure(ctx, descs[i], diffIDs[i], chains[i], lowerDirs(res.Dirs[:i]), opts.Open, wait)
		if err != nil {
			return fmt.Errorf("prepare %s: layer %d/%d %s: %w", img.Name, i+1, len(descs), units.ShortDigest(descs[i].Digest.String()), err)
		}
		mu.Lock()
		defer mu.Unlock()
		if built {
			res.Built++
		} else {
			res.Reused++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// lowerDirs orders the dirs below a layer top-most first, as unpack wants.
func lowerDirs(below []string) []string {
	out := make([]string, len(below))
	for i, d := range below {
		out[len(below)-1-i] = d
	}
	return out
}

// ensure builds chain c from layer desc unless it is already complete.
// Concurrent processes asking for the same chain build it once.
func (s *Snapshotter) ensure(ctx context.Context, desc ocispec.Descriptor, diffID, c digest.Digest, lowers []string,
	open content.Opener, waitLowers func() error) (bool, error) {
	if s.Exists(c) {
		return false, nil
	}
	unlock, err := s.locks.Lock(ctx, c.Encoded())
	if err != nil {
		return false, err
	}
	defer unlock()
	if s.Exists(c) {
		return false, nil
	}
	return true, s.build(ctx, desc, diffID, c, lowers, open, waitLowers)
}

func (s *Snapshotter) build(ctx context.Context, desc ocispec.Descriptor, diffID, c digest.Digest, lowers []string,
	open content.Opener, waitLowers func() error) error {
	tmp, err := s.tempDir(c)
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if !keep {
			removeAll(tmp)
		}
	}()
	fsDir := filepath.Join(tmp, "fs")
	if err := os.Mkdir(fsDir, 0o755); err != nil {
		return err
	}
	blob, err := open(ctx, desc)
	if err != nil {
		return err
	}
	defer blob.Close()
	opts := s.opts
	opts.Lowers = lowers
	opts.WaitLowers = waitLowers
	got, _, err := unpack.ApplyLayer(ctx, fsDir, blob, desc.MediaType, opts)
	if err != nil {
		return err
	}
	if got != diffID {
		return fmt.Errorf("%w: unpacked %s, config says %s", errdefs.ErrDiffIDMismatch, got, diffID)
	}
	if err := syncTree(tmp); err != nil {
		return err
	}
	if err := writeDone(filepath.Join(tmp, "done"), desc.Digest); err != nil {
		return err
	}
	final := filepath.Join(s.dir, c.Encoded())
	// A directory without "done" is a crashed build: it is not trusted.
	if _, err := os.Stat(final); err == nil {
		if err := removeAll(final); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("commit snapshot: %w", err)
	}
	keep = true
	return content.SyncDir(s.dir)
}

// tempDir is tmp-<chain>-<random>: gc tells an abandoned one from a build
// in progress by the chain's lock.
func (s *Snapshotter) tempDir(c digest.Digest) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return "", fmt.Errorf("snapshots: %w", err)
	}
	dir := filepath.Join(s.dir, "tmp-"+c.Encoded()+"-"+hex.EncodeToString(b[:]))
	return dir, os.Mkdir(dir, 0o700)
}

// writeDone records the blob a snapshot came from; it is written last.
func writeDone(path string, blob digest.Digest) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(blob.String() + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncTree flushes the filesystem holding dir once, instead of an fsync per file.
func syncTree(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// removeAll removes a snapshot tree, including immutable-free but
// read-only directories that image layers may contain.
func removeAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	// Make directories writable (a layer may ship 0555 dirs) and retry.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
