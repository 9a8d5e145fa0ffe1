package image

import (
	"context"
	"errors"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PlatformNotStoredError says that a name is stored, but not the manifest
// (or config) of the platform asked for: a multi-platform image is pulled
// one platform at a time. It matches ErrNotStored, so a caller that may
// pull does so.
type PlatformNotStoredError struct {
	Name   string
	Want   Platform
	Stored []Platform // in index order; empty when none is
}

func (e *PlatformNotStoredError) Error() string {
	have := "none is"
	if len(e.Stored) > 0 {
		s := make([]string, len(e.Stored))
		for i, p := range e.Stored {
			s[i] = p.String()
		}
		have = "only " + strings.Join(s, ", ") + " is"
	}
	return fmt.Sprintf("%s: platform %s is not stored (%s): pull it with `ctr-lite pull --platform %s %s`, or choose a stored platform with --platform",
		e.Name, e.Want, have, e.Want, e.Name)
}

func (e *PlatformNotStoredError) Unwrap() error { return ErrNotStored }

// Select is the one place a stored image's platform is chosen: it walks
// from target (what name points to) to the manifest for p, which is the
// host's when p is zero. An index entry for p whose manifest or config is
// not stored is a *PlatformNotStoredError listing the platforms that are.
// A single-platform manifest is returned whatever p is, as it is the
// only one there is.
func Select(ctx context.Context, st *content.Store, name string, target ocispec.Descriptor, p Platform) (*Image, error) {
	if p.OS == "" {
		p = HostPlatform()
	}
	img, err := loadTarget(ctx, st, target, p)
	if err == nil {
		img.Name = name
		return img, nil
	}
	if !absent(err) {
		return nil, err
	}
	if _, ierr := st.Info(ctx, target.Digest); ierr != nil {
		return nil, err // the name's own blob is gone: fsck's to report
	}
	nse := &PlatformNotStoredError{Name: name, Want: p}
	stored, serr := Platforms(ctx, st, target)
	if serr != nil {
		return nil, err
	}
	for _, s := range stored {
		nse.Stored = append(nse.Stored, s.Platform())
	}
	return nil, nse
}

// Platforms loads every platform of target whose manifest and config are
// stored, in index order (target itself when it is a manifest). Entries
// that are attestations rather than images are left out.
func Platforms(ctx context.Context, st *content.Store, target ocispec.Descriptor) ([]*Image, error) {
	var out []*Image
	seen := map[digest.Digest]bool{}
	var walk func(d ocispec.Descriptor, depth int) error
	walk = func(d ocispec.Descriptor, depth int) error {
		if depth > maxIndexDepth {
			return fmt.Errorf("%w: index %s nests deeper than %d", ErrInvalid, d.Digest, maxIndexDepth)
		}
		if seen[d.Digest] { // listed twice (or an index naming itself): once is enough
			return nil
		}
		seen[d.Digest] = true
		raw, err := st.ReadBlob(ctx, d, mediatype.MaxManifestSize)
		if absent(err) && depth > 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read manifest %s: %w", d.Digest, err)
		}
		kind, err := KindOf(d.MediaType, raw)
		if err != nil {
			return err
		}
		if kind == KindIndex {
			idx, err := DecodeIndex(raw)
			if err != nil {
				return err
			}
			for _, m := range idx.Manifests {
				if m.Annotations[annotationReferenceType] != "" {
					continue
				}
				if err := walk(m, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		img := &Image{Target: target, ManifestDesc: d, RawManifest: raw}
		if img.Manifest, err = DecodeManifest(raw); err != nil {
			return err
		}
		cfg, err := st.ReadBlob(ctx, img.Manifest.Config, MaxConfigSize)
		if absent(err) && depth > 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read config %s: %w", img.Manifest.Config.Digest, err)
		}
		if err := img.setConfig(cfg); err != nil {
			return err
		}
		out = append(out, img)
		return nil
	}
	if err := walk(target, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// absent reports whether err says a blob is not in the store.
func absent(err error) bool { return errors.Is(err, errdefs.ErrNotFound) }

// annotationReferenceType marks an index entry that describes another
// entry (buildx's attestation manifests) rather than being an image.
const annotationReferenceType = "vnd.docker.reference.type"

// Platform is the image's platform: its index entry's, else its config's.
func (img *Image) Platform() Platform {
	if p := img.ManifestDesc.Platform; p != nil && p.OS != "" {
		return Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
	}
	c := img.Config
	return Platform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant}
}
