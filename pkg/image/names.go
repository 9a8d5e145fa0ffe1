package image

import (
	"context"
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/opencontainers/go-digest"
)

// Summary is one row of `ctr-lite images`.
type Summary struct {
	Name       string        `json:"name"`
	Familiar   string        `json:"familiar"`
	Repository string        `json:"repository"`
	Tag        string        `json:"tag,omitempty"`
	Digest     digest.Digest `json:"digest"`
	MediaType  string        `json:"media_type"`
	// Size is the stored size for the host platform (manifest, config and
	// compressed layers), or the top-level blob's size when that platform
	// was not pulled.
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
			MediaType: n.Target.MediaType, Size: n.Target.Size}
		if ref, err := reference.Parse(n.Name); err == nil {
			s.Familiar = ref.Familiar()
			s.Repository = ref.FamiliarName()
			s.Tag = ref.Tag()
		}
		if img, err := loadTarget(ctx, st, n.Target, HostPlatform()); err == nil {
			s.Size = img.Size()
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
