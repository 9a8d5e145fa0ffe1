package content

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// Annotation keys that carry an image's full normalized reference in
// index.json (skopeo/umoci read the first, containerd the second).
const (
	AnnotationRefName   = ocispec.AnnotationRefName
	AnnotationImageName = "io.containerd.image.name"
)

// Named is one image name and the manifest or index it points to.
type Named struct {
	Name   string
	Target ocispec.Descriptor
}

// errUnchanged, from an updateIndex function, means there is nothing to write.
var errUnchanged = errors.New("index unchanged")

func (s *Store) indexPath() string { return filepath.Join(s.layout, "index.json") }

// readIndex reads index.json; atomic renames mean no lock is needed.
func (s *Store) readIndex() (ocispec.Index, error) {
	var idx ocispec.Index
	data, err := os.ReadFile(s.indexPath())
	if err != nil {
		return idx, fmt.Errorf("read index.json: %w", err)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return idx, fmt.Errorf("read index.json: %w", err)
	}
	return idx, nil
}

// entryName is the image name an index.json entry carries.
func entryName(d ocispec.Descriptor) string {
	if n := d.Annotations[AnnotationImageName]; n != "" {
		return n
	}
	return d.Annotations[AnnotationRefName]
}

// updateIndex applies fn to index.json under <root>/locks/index and
// writes the result atomically (temp file, fsync, rename, fsync dir).
func (s *Store) updateIndex(ctx context.Context, fn func(*ocispec.Index) error) error {
	unlock, err := s.locks.Lock(ctx, "index")
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(&idx); errors.Is(err, errUnchanged) {
		return nil
	} else if err != nil {
		return err
	}
	idx.SchemaVersion = 2
	idx.MediaType = ocispec.MediaTypeImageIndex
	if idx.Manifests == nil {
		idx.Manifests = []ocispec.Descriptor{}
	}
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.indexPath(), data); err != nil {
		return fmt.Errorf("write index.json: %w", err)
	}
	return nil
}

// SetName points name (a full normalized reference) at desc, replacing
// any earlier target of that name.
func (s *Store) SetName(ctx context.Context, name string, desc ocispec.Descriptor) error {
	if name == "" {
		return fmt.Errorf("set name: empty name")
	}
	if err := checkDigest(desc.Digest); err != nil {
		return fmt.Errorf("set name %s: %w", name, err)
	}
	entry := ocispec.Descriptor{
		MediaType: desc.MediaType,
		Digest:    desc.Digest,
		Size:      desc.Size,
		Platform:  desc.Platform,
		Annotations: map[string]string{
			AnnotationRefName:   name,
			AnnotationImageName: name,
		},
	}
	err := s.updateIndex(ctx, func(idx *ocispec.Index) error {
		out := idx.Manifests[:0]
		matches, same := 0, false
		for _, m := range idx.Manifests {
			if entryName(m) != name {
				out = append(out, m)
				continue
			}
			matches++
			same = reflect.DeepEqual(m, entry)
		}
		if matches == 1 && same {
			return errUnchanged // a re-pull of an unchanged image: nothing to write and sync
		}
		idx.Manifests = append(out, entry)
		return nil
	})
	if err != nil {
		return fmt.Errorf("set name %s: %w", name, err)
	}
	return nil
}

// DeleteName removes name; errdefs.ErrNotFound when it is not there. The blobs
// stay until the next GC.
func (s *Store) DeleteName(ctx context.Context, name string) error {
	err := s.updateIndex(ctx, func(idx *ocispec.Index) error {
		out := idx.Manifests[:0]
		found := false
		for _, m := range idx.Manifests {
			if entryName(m) == name {
				found = true
				continue
			}
			out = append(out, m)
		}
		if !found {
			return errdefs.ErrNotFound
		}
		idx.Manifests = out
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete name %s: %w", name, err)
	}
	return nil
}

// Get returns the descriptor name points to; errdefs.ErrNotFound when absent.
func (s *Store) Get(ctx context.Context, name string) (ocispec.Descriptor, error) {
	idx, err := s.readIndex()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	for _, m := range idx.Manifests {
		if entryName(m) == name {
			return m, nil
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("image %s: %w", name, errdefs.ErrNotFound)
}

// List returns every named image, sorted by name. Entries without a name
// (written by other tools) are skipped.
func (s *Store) List(ctx context.Context) ([]Named, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []Named
	for _, m := range idx.Manifests {
		if n := entryName(m); n != "" {
			out = append(out, Named{Name: n, Target: m})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
