package image

import (
	"context"
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Summary is one row of `ctr-lite images`.
type Summary struct {
	Name       string        `json:"name"`
	Familiar   string        `json:"familiar"`
	Repository string        `json:"repository"`
	Tag        string        `json:"tag,omitempty"`
	Digest     digest.Digest `json:"digest"`
	MediaType  string        `json:"media_type"`
	// Platforms are the platforms stored under the name, in index order
	// (of a multi-platform image, only those pulled).
	Platforms []string `json:"platforms"`
	// Size is the stored size of those platforms (manifests, configs and
	// compressed layers, each blob counted once), or the top-level blob's
	// size when none is stored.
	Size int64 `json:"size"`
}

// List summarises every stored image, sorted by name.
func List(ctx context.Context, st *content.Store) ([]Summary, error) {
	named, err := st.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]Summary, 0, len(named))
	for _, n := range named {
		s := Summary{Name: n.Name, Familiar: n.Name, Repository: n.Name, Digest: n.Target.Digest,
			MediaType: n.Target.MediaType, Size: n.Target.Size, Platforms: []string{}}
		if ref, err := reference.Parse(n.Name); err == nil {
			s.Familiar = ref.Familiar()
			s.Repository = ref.FamiliarName()
			s.Tag = ref.Tag()
		}
		if imgs, err := Platforms(ctx, st, n.Target); err == nil && len(imgs) > 0 {
			s.Size = 0
			counted := map[digest.Digest]bool{}
			add := func(d ocispec.Descriptor) {
				if !counted[d.Digest] {
					counted[d.Digest] = true
					s.Size += d.Size
				}
			}
			for _, img := range imgs {
				s.Platforms = append(s.Platforms, img.Platform().String())
				add(img.ManifestDesc)
				add(img.Manifest.Config)
				for _, l := range img.Manifest.Layers {
					add(l)
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Tag names the image src also as dst and returns dst's full name.
func Tag(ctx context.Context, st *content.Store, src, dst string) (string, error) {
	from, err := reference.Parse(src)
	if err != nil {
		return "", err
	}
	to, err := reference.Parse(dst)
	if err != nil {
		return "", err
	}
	desc, err := st.Get(ctx, from.String())
	if err != nil {
		return "", fmt.Errorf("tag %s: %w", from, err)
	}
	if err := st.SetName(ctx, to.String(), desc); err != nil {
		return "", fmt.Errorf("tag %s %s: %w", from, to, err)
	}
	return to.String(), nil
}
