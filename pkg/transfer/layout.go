package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/content"
)

// layout is an OCI image layout directory (oci:DIR[:TAG]).
type layout struct {
	dir, tag string
	root     ocispec.Descriptor // the root written, for Close
	wrote    bool
}

// FromLayout reads the image tag names in the layout dir (its
// org.opencontainers.image.ref.name); with no tag, the layout's only image.
func FromLayout(dir, tag string) Source { return &layout{dir: dir, tag: tag} }

// ToLayout writes into the layout dir, creating it, and names the root
// tag in index.json (replacing an image of that name).
func ToLayout(dir, tag string) Target { return &layout{dir: dir, tag: tag} }

func (l *layout) blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("layout %s: digest %q: %w", l.dir, d, err)
	}
	return filepath.Join(l.dir, "blobs", d.Algorithm().String(), d.Encoded()), nil
}

func (l *layout) readIndex() (ocispec.Index, error) {
	var idx ocispec.Index
	b, err := os.ReadFile(filepath.Join(l.dir, "index.json"))
	if err != nil {
		return idx, fmt.Errorf("layout %s: %w", l.dir, err)
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return idx, fmt.Errorf("layout %s: index.json: %w", l.dir, err)
	}
	return idx, nil
}

func refName(d ocispec.Descriptor) string { return d.Annotations[ocispec.AnnotationRefName] }

func (l *layout) Root(ctx context.Context) (ocispec.Descriptor, []byte, error) {
	idx, err := l.readIndex()
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	var found []ocispec.Descriptor
	var names []string
	for _, m := range idx.Manifests {
		names = append(names, refName(m))
		if l.tag == "" || refName(m) == l.tag || m.Annotations[content.AnnotationImageName] == l.tag {
			found = append(found, m)
		}
	}
	switch {
	case len(found) == 0:
		return ocispec.Descriptor{}, nil, fmt.Errorf("layout %s: no image named %q (it has %q): %w", l.dir, l.tag, names, errdefs.ErrNotFound)
	case len(found) > 1:
		return ocispec.Descriptor{}, nil, fmt.Errorf("layout %s holds %d images (%q): name one as oci:DIR:TAG", l.dir, len(found), names)
	}
	d := stripPlatform(found[0])
	raw, err := l.Manifest(ctx, d)
	return d, raw, err
}

func (l *layout) Manifest(ctx context.Context, d ocispec.Descriptor) ([]byte, error) {
	if d.Size > mediatype.MaxManifestSize {
		return nil, fmt.Errorf("layout %s: manifest %s: %w", l.dir, d.Digest, errdefs.ErrTooLarge)
	}
	rc, err := l.Open(ctx, d, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return nil, fmt.Errorf("layout %s: read %s: %w", l.dir, d.Digest, err)
	}
	if int64(len(b)) != d.Size || d.Digest.Algorithm().FromBytes(b) != d.Digest {
		return nil, fmt.Errorf("layout %s: manifest %s: %w", l.dir, d.Digest, errdefs.ErrDigestMismatch)
	}
	return b, nil
}

func (l *layout) Open(ctx context.Context, d ocispec.Descriptor, offset int64) (io.ReadCloser, error) {
	p, err := l.blobPath(d.Digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("layout %s: blob %s: %w", l.dir, d.Digest, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", l.dir, err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("layout %s: %w", l.dir, err)
	}
	return f, nil
}

func (l *layout) Repository() string { return "" }

func (l *layout) Has(ctx context.Context, d ocispec.Descriptor) (bool, error) {
	p, err := l.blobPath(d.Digest)
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Size() == d.Size, nil
}

// PutBlob writes the blob to a temporary file beside its place, checks
// its digest and size, and renames it in.
func (l *layout) PutBlob(ctx context.Context, d ocispec.Descriptor, src Source, _ string, sent func(int64)) (bool, error) {
	rc, err := src.Open(ctx, d, 0)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	return false, l.write(d, content.ContextReader(ctx, rc), sent)
}

func (l *layout) write(d ocispec.Descriptor, r io.Reader, sent func(int64)) error {
	p, err := l.blobPath(d.Digest)
	if err != nil {
		return err
	}
	if err := l.init(filepath.Dir(p)); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("layout %s: %w", l.dir, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	v := d.Digest.Verifier()
	n, err := io.Copy(io.MultiWriter(tmp, v, counter(sent)), io.LimitReader(r, d.Size+1))
	if err != nil {
		return fmt.Errorf("layout %s: write %s: %w", l.dir, d.Digest, err)
	}
	if n != d.Size || !v.Verified() {
		return fmt.Errorf("layout %s: blob %s: %w", l.dir, d.Digest, errdefs.ErrDigestMismatch)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("layout %s: %w", l.dir, err)
	}
	return os.Rename(tmp.Name(), p)
}

// init creates the layout's directories and oci-layout file.
func (l *layout) init(blobs string) error {
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return fmt.Errorf("layout %s: %w", l.dir, err)
	}
	p := filepath.Join(l.dir, "oci-layout")
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	b, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	return os.WriteFile(p, b, 0o644)
}

type counter func(int64)

func (c counter) Write(p []byte) (int, error) {
	if c != nil {
		c(int64(len(p)))
	}
	return len(p), nil
}

func (l *layout) PutManifest(ctx context.Context, d ocispec.Descriptor, raw []byte, top bool) error {
	if ok, _ := l.Has(ctx, d); !ok {
		if err := l.write(d, bytesReader(raw), nil); err != nil {
			return err
		}
	}
	if top {
		l.root, l.wrote = d, true
	}
	return nil
}

// Close names the root in index.json.
func (l *layout) Close(ctx context.Context) error {
	if !l.wrote {
		return nil
	}
	idx, err := l.readIndex()
	if errors.Is(err, fs.ErrNotExist) {
		idx, err = ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}, nil
		idx.SchemaVersion = 2
	}
	if err != nil {
		return err
	}
	entry := l.root
	if l.tag != "" {
		entry.Annotations = map[string]string{ocispec.AnnotationRefName: l.tag}
		idx.Manifests = slices.DeleteFunc(idx.Manifests, func(m ocispec.Descriptor) bool { return refName(m) == l.tag })
	}
	idx.Manifests = append(idx.Manifests, entry)
	b, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	tmp := filepath.Join(l.dir, ".index.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("layout %s: %w", l.dir, err)
	}
	return os.Rename(tmp, filepath.Join(l.dir, "index.json"))
}
