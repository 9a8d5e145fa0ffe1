package content

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/mediatype"
)

// Fsck checks the store: the layout files, every blob's sha256 against
// its name, every name's manifest tree (top-level target, manifests,
// configs, layers present and of the declared size; an index may lack
// children for platforms never pulled), and leftover temp files. With
// repair it deletes corrupt blobs and temp files; names are kept, so the
// next pull re-fetches what is missing. Partial downloads are not problems.
func (s *Store) Fsck(ctx context.Context, repair bool) ([]dataroot.Problem, error) {
	release, err := s.root.Lease(ctx) // keep gc from deleting blobs under us
	if err != nil {
		return nil, fmt.Errorf("fsck: %w", err)
	}
	defer release()
	var probs []dataroot.Problem
	add := func(path, format string, args ...any) {
		probs = append(probs, dataroot.Problem{Path: path, What: fmt.Sprintf(format, args...)})
	}
	if err := s.fsckLayout(ctx, repair, add); err != nil {
		return probs, err
	}
	if err := s.fsckBlobs(ctx, repair, add); err != nil {
		return probs, err
	}
	if err := s.fsckNames(ctx, add); err != nil {
		return probs, err
	}
	return probs, nil
}

type addFunc func(path, format string, args ...any)

// fsckLayout checks oci-layout and index.json and removes temp files of
// interrupted index rewrites (under the index lock, so none is live).
func (s *Store) fsckLayout(ctx context.Context, repair bool, add addFunc) error {
	p := filepath.Join(s.layout, "oci-layout")
	var lay ocispec.ImageLayout
	if data, err := os.ReadFile(p); err != nil {
		add(p, "unreadable: %v", err)
	} else if err := json.Unmarshal(data, &lay); err != nil || lay.Version == "" {
		add(p, "not an OCI layout file")
	}
	if _, err := s.readIndex(); err != nil {
		add(s.indexPath(), "%v", err)
	}
	unlock, err := s.locks.Lock(ctx, "index")
	if err != nil {
		return fmt.Errorf("fsck: %w", err)
	}
	defer unlock()
	ents, err := os.ReadDir(s.layout)
	if err != nil {
		return fmt.Errorf("fsck: %w", err)
	}
	for _, e := range ents {
		switch e.Name() {
		case "oci-layout", "index.json", "blobs":
			continue
		}
		path := filepath.Join(s.layout, e.Name())
		if strings.Contains(e.Name(), ".tmp-") {
			add(path, "leftover temp file")
			if repair {
				os.Remove(path)
			}
		}
	}
	return nil
}

// fsckBlobs hashes every file in blobs/sha256.
func (s *Store) fsckBlobs(ctx context.Context, repair bool, add addFunc) error {
	dir := filepath.Join(s.layout, "blobs", "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("fsck: %w", err)
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := filepath.Join(dir, e.Name())
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil || !e.Type().IsRegular() {
			add(path, "not a blob (name is not a sha256 digest, or not a regular file)")
			if repair {
				os.RemoveAll(path)
			}
			continue
		}
		got, err := hashFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			add(path, "unreadable: %v", err)
			continue
		}
		if got != d {
			add(path, "corrupt: content hashes to %s", got)
			if repair {
				os.Remove(path)
			}
		}
	}
	return nil
}

func hashFile(path string) (digest.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return digest.NewDigest(digest.SHA256, h), nil
}

// fsckNames walks every name's tree and reports missing or mis-sized blobs.
func (s *Store) fsckNames(ctx context.Context, add addFunc) error {
	names, err := s.List(ctx)
	if err != nil {
		return nil // already reported by fsckLayout
	}
	checked := map[digest.Digest]bool{}
	for _, n := range names {
		var walk func(d ocispec.Descriptor, optional bool)
		walk = func(d ocispec.Descriptor, optional bool) {
			if checked[d.Digest] {
				return
			}
			if err := checkDigest(d.Digest); err != nil {
				add(s.indexPath(), "%s: bad digest %q", n.Name, d.Digest)
				return
			}
			in, err := s.Info(ctx, d.Digest)
			if err != nil {
				if !optional {
					add(s.blobPath(d.Digest), "missing (%s of image %s)", kind(d.MediaType), n.Name)
				}
				return
			}
			checked[d.Digest] = true
			if in.Size != d.Size {
				add(s.blobPath(d.Digest), "size %d, image %s says %d", in.Size, n.Name, d.Size)
				return
			}
			kids, err := s.children(ctx, d)
			if err != nil {
				add(s.blobPath(d.Digest), "unreadable %s of image %s: %v", kind(d.MediaType), n.Name, err)
				return
			}
			for _, k := range kids {
				walk(k, mediatype.IsIndex(d.MediaType))
			}
		}
		walk(n.Target, false)
	}
	return nil
}

func kind(mt string) string {
	switch {
	case mediatype.IsIndex(mt):
		return "index"
	case mediatype.IsManifest(mt):
		return "manifest"
	case strings.Contains(mt, "config"):
		return "config"
	case strings.Contains(mt, "layer") || strings.Contains(mt, "rootfs"):
		return "layer"
	}
	return "blob"
}
