package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"net/http"
	"net/url"
	"strconv"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/reference"
)

// pushTarget is the endpoint pushes go to and its push-scoped client.
type pushTarget struct {
	ep endpoint
	hc *http.Client
}

// pusher returns the first endpoint of ref's registry that may be pushed
// to (the server, unless hosts.toml says otherwise), authenticated with the
// push scope for ref's repository.
func (c *Client) pusher(ctx context.Context, op string, ref reference.Reference) (pushTarget, error) {
	eps, err := c.endpoints(ref.Registry())
	if err != nil {
		return pushTarget{}, &Error{Op: op, Ref: ref.String(), Err: err, Message: oneLine(err.Error())}
	}
	for _, ep := range eps {
		if !ep.Can(CapPush) || ep.Mirror {
			continue
		}
		hc, err := c.client(ctx, ep, ref.Repository(), true)
		if err != nil {
			return pushTarget{}, pushErr(c.wrapErr(op, ref.String(), err), ref)
		}
		return pushTarget{ep: ep, hc: hc}, nil
	}
	return pushTarget{}, newErr(op, ref.String(), errdefs.ErrUnsupported, "no host in hosts.toml may be pushed to")
}

// pushErr words an authorization failure on a push: the registry refused
// the push scope, which is not the same as refusing to let us read.
func pushErr(err error, ref reference.Reference) error {
	var e *Error
	if errors.As(err, &e) && errors.Is(e, ErrUnauthorized) {
		e.Message = fmt.Sprintf("registry %s refused push access to %s (push scope denied: not logged in, wrong credentials, or no write permission)",
			ref.Registry(), ref.Repository())
		if e.Err == nil {
			e.Err = ErrUnauthorized
		}
	}
	return err
}

// do sends req and turns anything but one of ok into an *Error (closing
// the body); on success the caller closes it.
func (t pushTarget) do(req *http.Request, op string, ref reference.Reference, ok ...int) (*http.Response, error) {
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, err
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			return resp, nil
		}
	}
	e := responseError(op, ref.String(), resp)
	resp.Body.Close()
	return nil, pushErr(e, ref)
}

// BlobExists asks the registry (HEAD) whether ref's repository has the
// blob desc, of the right size.
func (c *Client) BlobExists(ctx context.Context, ref reference.Reference, desc ocispec.Descriptor) (bool, error) {
	op := "check blob " + string(desc.Digest)
	t, err := c.pusher(ctx, op, ref)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, apiURL(t.ep, ref, "blobs", desc.Digest.String()), nil)
	if err != nil {
		return false, err
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return false, c.wrapErr(op, ref.String(), err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return resp.ContentLength < 0 || resp.ContentLength == desc.Size, nil
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	}
	return false, pushErr(responseError(op, ref.String(), resp), ref)
}

// PutManifest uploads a manifest or index under tag (or, with an empty
// tag, under its digest) exactly as raw is: the registry's digest of it is
// the digest of raw, which is checked against what the registry reports.
func (c *Client) PutManifest(ctx context.Context, ref reference.Reference, tag, mediaType string, raw []byte) (ocispec.Descriptor, error) {
	d := digest.FromBytes(raw)
	id := tag
	if id == "" {
		id = d.String()
	}
	op := "push manifest " + id
	if len(raw) > mediatype.MaxManifestSize {
		return ocispec.Descriptor{}, newErr(op, ref.String(), errdefs.ErrTooLarge, "manifest of %d bytes is over the %d byte limit", len(raw), mediatype.MaxManifestSize)
	}
	t, err := c.pusher(ctx, op, ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, apiURL(t.ep, ref, "manifests", id), bytes.NewReader(raw))
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := t.do(req, op, ref, http.StatusCreated, http.StatusOK, http.StatusAccepted)
	if err != nil {
		return ocispec.Descriptor{}, c.wrapErr(op, ref.String(), err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("Docker-Content-Digest"); h != "" && h != d.String() {
		return ocispec.Descriptor{}, newErr(op, ref.String(), errdefs.ErrDigestMismatch, "registry stored the manifest as %s, expected %s", h, d)
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(raw))}, nil
}

// location resolves an upload Location header against the request URL.
func location(req *http.Request, resp *http.Response) (string, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("registry sent no upload location")
	}
	u, err := req.URL.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("upload location %q: %w", loc, err)
	}
	return u.String(), nil
}

// withQuery adds key=value to a URL that may already have a query.
func withQuery(u, key, value string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	q := p.Query()
	q.Set(key, value)
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// uploadedUpTo parses an upload status Range header "0-N" (or "bytes=0-N"):
// the registry holds N+1 bytes. No header means none.
func uploadedUpTo(h string) (int64, error) {
	if h == "" {
		return 0, nil
	}
	if len(h) > 6 && h[:6] == "bytes=" {
		h = h[6:]
	}
	var start, end int64
	if _, err := fmt.Sscanf(h, "%d-%d", &start, &end); err != nil || start != 0 || end < -1 {
		return 0, fmt.Errorf("bad upload Range %q", h)
	}
	return end + 1, nil
}

func contentRange(from, n int64) string {
	return strconv.FormatInt(from, 10) + "-" + strconv.FormatInt(from+n-1, 10)
}
