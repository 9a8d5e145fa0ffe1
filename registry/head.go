package registry

import (
	"context"
	"mime"
	"net/http"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"github.com/ctrlite/ctr-lite/pkg/reference"
)

// Head asks for ref's manifest descriptor with a HEAD request (which Docker
// Hub does not count against pull limits): media type, digest and size from
// the response headers. A registry that omits Docker-Content-Digest or a
// known media type gives errdefs.ErrUnsupported; callers then use Resolve.
func (c *Client) Head(ctx context.Context, ref reference.Reference) (ocispec.Descriptor, error) {
	const op = "resolve"
	ctx, cancel := context.WithTimeout(ctx, c.opts.ResponseTimeout)
	defer cancel()
	name := ref.String()
	caps := []Capability{CapResolve}
	if ref.Digest() != "" {
		caps = append(caps, CapPull)
	}
	resp, err := c.attempt(ctx, op, ref, caps, func(ep endpoint, hc *http.Client) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, apiURL(ep, ref, "manifests", ref.Identifier()), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", acceptManifests)
		return hc.Do(req)
	})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	resp.Body.Close()
	d, err := digest.Parse(resp.Header.Get("Docker-Content-Digest"))
	if err != nil {
		return ocispec.Descriptor{}, newErr(op, name, errdefs.ErrUnsupported, "registry sent no manifest digest on HEAD")
	}
	if want := ref.Digest(); want != "" && d != want {
		return ocispec.Descriptor{}, newErr(op, name, errdefs.ErrDigestMismatch, "registry says %s for digest %s", d, want)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case mediatype.IsIndex(mt), mediatype.IsManifest(mt):
	case mediatype.IsSchema1(mt):
		return ocispec.Descriptor{}, newErr(op, name, errdefs.ErrUnsupported, "Docker schema 1 manifest (deprecated; re-push the image with a current docker, podman or skopeo)")
	default:
		return ocispec.Descriptor{}, newErr(op, name, errdefs.ErrUnsupported, "registry sent media type %q on HEAD", mt)
	}
	if resp.ContentLength < 0 {
		return ocispec.Descriptor{}, newErr(op, name, errdefs.ErrUnsupported, "registry sent no manifest size on HEAD")
	}
	if resp.ContentLength > mediatype.MaxManifestSize {
		return ocispec.Descriptor{}, newErr(op, name, errdefs.ErrTooLarge, "manifest of %d bytes is over the %d byte limit", resp.ContentLength, mediatype.MaxManifestSize)
	}
	return ocispec.Descriptor{MediaType: mt, Digest: d, Size: resp.ContentLength}, nil
}
