package image

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Source presents an image and a way to stream its layers to readers such
// as pkg/inspect, whether the image is stored or only in a registry.
type Source struct {
	Image *Image
	open  content.Opener
}

func (s *Source) Manifest() ocispec.Manifest    { return s.Image.Manifest }
func (s *Source) ManifestDigest() digest.Digest { return s.Image.ManifestDesc.Digest }
func (s *Source) RawManifest() []byte           { return s.Image.RawManifest }
func (s *Source) Config() ocispec.Image         { return s.Image.Config }
func (s *Source) RawConfig() []byte             { return s.Image.RawConfig }
func (s *Source) OpenLayer(ctx context.Context, i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(s.Image.Manifest.Layers) {
		return nil, fmt.Errorf("layer %d: image has %d layers", i+1, len(s.Image.Manifest.Layers))
	}
	return s.open(ctx, s.Image.Manifest.Layers[i])
}

// StoreSource reads img's layers from the content store.
func StoreSource(st *content.Store, img *Image) *Source {
	return &Source{Image: img, open: st.Opener()}
}

// Remote resolves ref in the registry for platform p and returns it as a
// Source that streams layers from the registry; nothing is stored. Every
// manifest, config and layer is checked against its digest.
func Remote(ctx context.Context, f Fetcher, ref reference.Reference, p Platform) (*Source, error) {
	if p.OS == "" {
		p = HostPlatform()
	}
	desc, raw, err := f.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	if desc.Digest != digest.FromBytes(raw) {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, errdefs.ErrDigestMismatch)
	}
	get := func(ctx context.Context, d ocispec.Descriptor) ([]byte, error) { return f.FetchManifest(ctx, ref, d) }
	img, err := selectManifest(ctx, desc, raw, p, get, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	img.Name = ref.String()
	open := func(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
		body, _, err := f.Fetch(ctx, ref, d, 0)
		if err != nil {
			return nil, err
		}
		return &verifying{rc: body, v: d.Digest.Verifier(), d: d.Digest}, nil
	}
	rc, err := open(ctx, img.Manifest.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", ref, err)
	}
	cfg, err := io.ReadAll(io.LimitReader(rc, MaxConfigSize+1))
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", ref, err)
	}
	if len(cfg) > MaxConfigSize {
		return nil, fmt.Errorf("%s: %w: config is larger than %d bytes", ref, ErrInvalid, MaxConfigSize)
	}
	if err := img.setConfig(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return &Source{Image: img, open: open}, nil
}

// verifying fails the read that reaches EOF when the bytes do not match.
type verifying struct {
	rc io.ReadCloser
	v  digest.Verifier
	d  digest.Digest
}

func (r *verifying) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.v.Write(p[:n])
	if errors.Is(err, io.EOF) && !r.v.Verified() {
		return n, fmt.Errorf("blob %s: %w", r.d, errdefs.ErrDigestMismatch)
	}
	return n, err
}

func (r *verifying) Close() error { return r.rc.Close() }

// Open returns a Source for ref: the stored image when there is one for
// p (and remote is false), else the registry's, read without storing
// anything. When the name is stored but not p and the registry cannot be
// read, the error says which platforms are stored.
func Open(ctx context.Context, st *content.Store, f Fetcher, ref reference.Reference, p Platform, remote bool) (*Source, error) {
	if p.OS == "" {
		p = HostPlatform()
	}
	if remote {
		return Remote(ctx, f, ref, p)
	}
	img, err := Load(ctx, st, ref, p)
	if err == nil {
		return StoreSource(st, img), nil
	}
	if !errors.Is(err, ErrNotStored) && !errors.Is(err, ErrPlatformNotFound) {
		return nil, err
	}
	src, rerr := Remote(ctx, f, ref, p)
	var nse *PlatformNotStoredError
	if rerr != nil && errors.As(err, &nse) {
		// Say first what is stored: the registry was only the fallback.
		return nil, fmt.Errorf("%w; the registry cannot be read either: %v", err, rerr)
	}
	return src, rerr
}
