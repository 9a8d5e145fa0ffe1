package content

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// Store is the content store of one data root: the OCI layout in
// <root>/content and partial downloads in <root>/ingest. It holds no state
// in memory beyond its paths: every process opening the same root shares it.
type Store struct {
	root   *dataroot.Root
	layout string // the OCI image layout directory
	ingest string // partial downloads and their locks
	locks  dataroot.Locks
}

// Info describes a committed blob.
type Info struct {
	Digest  digest.Digest
	Size    int64
	ModTime time.Time
}

// Open opens the data root at dir and the store in it (see New).
func Open(dir string) (*Store, error) {
	r, err := dataroot.Open(dir)
	if err != nil {
		return nil, err
	}
	return New(r)
}

// New opens the store of root, creating what is missing of its layout.
// Nothing that exists is changed, so a read-only store can be read.
func New(r *dataroot.Root) (*Store, error) {
	s := &Store{root: r, layout: r.Dir(dataroot.Content), ingest: r.Dir(dataroot.Ingest), locks: r.Locks(dataroot.Content)}
	for _, d := range []string{filepath.Join(s.layout, "blobs", "sha256"), s.ingest} {
		if _, err := os.Stat(d); err == nil {
			continue
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open store %s: %w", r.Path(), err)
		}
	}
	if err := s.ensureFile("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return nil, fmt.Errorf("open store %s: %w", r.Path(), err)
	}
	if err := s.ensureFile("index.json", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)); err != nil {
		return nil, fmt.Errorf("open store %s: %w", r.Path(), err)
	}
	return s, nil
}

// ensureFile creates content/<name> atomically when it is missing.
func (s *Store) ensureFile(name string, data []byte) error {
	p := filepath.Join(s.layout, name)
	if _, err := os.Stat(p); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	unlock, err := s.locks.Lock(context.Background(), "index")
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return writeFileAtomic(p, data)
}

// Root is the data root the store lives in.
func (s *Store) Root() *dataroot.Root { return s.root }

func (s *Store) blobPath(d digest.Digest) string {
	return filepath.Join(s.layout, "blobs", d.Algorithm().String(), d.Encoded())
}

func (s *Store) ingestPath(d digest.Digest) string {
	return filepath.Join(s.ingest, d.Encoded())
}

// TempFile creates a temporary file beside the partial downloads, on the
// store's filesystem; the caller removes it. gc removes one left by a crash.
func (s *Store) TempFile(pattern string) (*os.File, error) {
	return os.CreateTemp(s.ingest, pattern)
}

// checkDigest accepts only well-formed sha256 digests, so a digest can
// never name a path outside the store.
func checkDigest(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("digest %q: %w", d, err)
	}
	if d.Algorithm() != digest.SHA256 {
		return fmt.Errorf("digest %q: only sha256 is supported", d)
	}
	return nil
}

// Info returns a committed blob's size and time; errdefs.ErrNotFound when absent.
func (s *Store) Info(ctx context.Context, d digest.Digest) (Info, error) {
	if err := checkDigest(d); err != nil {
		return Info{}, err
	}
	fi, err := os.Stat(s.blobPath(d))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Info{}, fmt.Errorf("blob %s: %w", d, errdefs.ErrNotFound)
		}
		return Info{}, fmt.Errorf("blob %s: %w", d, err)
	}
	return Info{Digest: d, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Open opens a committed blob for reading; errdefs.ErrNotFound when absent.
func (s *Store) Open(ctx context.Context, d digest.Digest) (*os.File, error) {
	if err := checkDigest(d); err != nil {
		return nil, err
	}
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("blob %s: %w", d, errdefs.ErrNotFound)
		}
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	return f, nil
}

// ReadBlob reads a small committed blob (manifest, index, config) and
// checks it against desc. It refuses blobs larger than max (errdefs.ErrTooLarge)
// before reading them.
func (s *Store) ReadBlob(ctx context.Context, desc ocispec.Descriptor, max int64) ([]byte, error) {
	if desc.Size > max {
		return nil, fmt.Errorf("blob %s: %d bytes, limit %d: %w", desc.Digest, desc.Size, max, errdefs.ErrTooLarge)
	}
	f, err := s.Open(ctx, desc.Digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(f, max+1)); err != nil {
		return nil, fmt.Errorf("read blob %s: %w", desc.Digest, err)
	}
	if int64(buf.Len()) > max {
		return nil, fmt.Errorf("blob %s: over %d bytes: %w", desc.Digest, max, errdefs.ErrTooLarge)
	}
	if int64(buf.Len()) != desc.Size {
		return nil, fmt.Errorf("blob %s: %d bytes, descriptor says %d: %w", desc.Digest, buf.Len(), desc.Size, errdefs.ErrSizeMismatch)
	}
	if got := digest.FromBytes(buf.Bytes()); got != desc.Digest {
		return nil, fmt.Errorf("blob %s: content hashes to %s: %w", desc.Digest, got, errdefs.ErrDigestMismatch)
	}
	return buf.Bytes(), nil
}

// Walk calls fn for every committed blob, in digest order. Files in
// blobs/sha256 whose names are not digests are skipped (fsck reports them).
func (s *Store) Walk(ctx context.Context, fn func(Info) error) error {
	dir := filepath.Join(s.layout, "blobs", "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			return fmt.Errorf("walk blobs: %w", err)
		}
		if err := fn(Info{Digest: d, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes data to a temp file next to path, fsyncs it,
// renames it over path and fsyncs the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return SyncDir(dir)
}

// SyncDir fsyncs a directory, making renames and creations in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
