package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"github.com/ctrlite/ctr-lite/pkg/reference"
)

// acceptManifests lists the manifest media types this package accepts
// (schema 1 only to refuse it with a clear error).
var acceptManifests = strings.Join([]string{
	ocispec.MediaTypeImageIndex, ocispec.MediaTypeImageManifest,
	mediatype.DockerManifestList, mediatype.DockerManifest,
	mediatype.DockerSchema1Signed, mediatype.DockerSchema1,
}, ", ")

// attempt runs send against each endpoint that has one of caps, mirrors
// first; it returns the first success or the last endpoint's error.
func (c *Client) attempt(ctx context.Context, op string, ref reference.Reference, caps []Capability,
	send func(ep endpoint, hc *http.Client) (*http.Response, error)) (*http.Response, error) {
	eps, err := c.endpoints(ref.Registry())
	if err != nil {
		return nil, &Error{Op: op, Ref: ref.String(), Err: err, Message: oneLine(err.Error())}
	}
	var last error
	for _, ep := range eps {
		if !canAny(ep.Host, caps) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		hc, err := c.client(ctx, ep, ref.Repository(), false)
		if err != nil {
			last = c.wrapErr(op, ref.String(), err)
			continue
		}
		resp, err := send(ep, hc)
		if err != nil {
			last = c.wrapErr(op, ref.String(), err)
			continue
		}
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent {
			return resp, nil
		}
		e := responseError(op, ref.String(), resp)
		resp.Body.Close()
		if errors.Is(e, ErrUnauthorized) {
			c.forget(ep, ref.Repository())
		}
		last = e
	}
	if last == nil {
		last = c.wrapErr(op, ref.String(), ctx.Err())
		if ctx.Err() == nil {
			last = newErr(op, ref.String(), errdefs.ErrUnsupported, "no host in hosts.toml may be used for this")
		}
	}
	return nil, last
}

func canAny(h Host, caps []Capability) bool {
	for _, c := range caps {
		if h.Can(c) {
			return true
		}
	}
	return false
}

// apiURL builds <scheme>://<host><path>/<repo>/<kind>/<id>, adding ?ns= for
// mirrors as containerd does.
func apiURL(ep endpoint, ref reference.Reference, kind, id string) string {
	u := ep.Scheme + "://" + ep.Host.Host + ep.Path + "/" + ref.Repository() + "/" + kind + "/" + id
	if ep.Mirror {
		u += "?ns=" + url.QueryEscape(ref.Registry())
	}
	return u
}

// Resolve fetches the manifest ref names (a tag or a digest) and returns its
// descriptor and bytes: an image manifest, an OCI index or a Docker manifest
// list. Manifests over mediatype.MaxManifestSize are refused; a digest in ref is
// verified; schema 1 gives errdefs.ErrUnsupported.
func (c *Client) Resolve(ctx context.Context, ref reference.Reference) (ocispec.Descriptor, []byte, error) {
	const op = "resolve"
	caps := []Capability{CapResolve}
	if ref.Digest() != "" {
		caps = append(caps, CapPull)
		if err := ref.Digest().Validate(); err != nil {
			return ocispec.Descriptor{}, nil, newErr(op, ref.String(), errdefs.ErrUnsupported, "digest: %v", err)
		}
	}
	return c.getManifest(ctx, op, ref, ref.Identifier(), caps, ref.Digest(), -1)
}

// FetchManifest fetches a child manifest (from an index) by descriptor,
// verifying its digest and size.
func (c *Client) FetchManifest(ctx context.Context, ref reference.Reference, desc ocispec.Descriptor) ([]byte, error) {
	op := "fetch manifest " + string(desc.Digest)
	if err := desc.Digest.Validate(); err != nil {
		return nil, newErr(op, ref.String(), errdefs.ErrUnsupported, "bad digest: %v", err)
	}
	if desc.Size > mediatype.MaxManifestSize {
		return nil, newErr(op, ref.String(), errdefs.ErrTooLarge, "manifest of %d bytes is over the %d byte limit", desc.Size, mediatype.MaxManifestSize)
	}
	_, b, err := c.getManifest(ctx, op, ref, desc.Digest.String(), []Capability{CapPull, CapResolve}, desc.Digest, desc.Size)
	return b, err
}

func (c *Client) getManifest(ctx context.Context, op string, ref reference.Reference, id string,
	caps []Capability, want digest.Digest, wantSize int64) (ocispec.Descriptor, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ResponseTimeout)
	defer cancel()
	name := ref.String()
	limit := int64(mediatype.MaxManifestSize)
	if wantSize >= 0 {
		limit = wantSize
	}
	var resp *http.Response
	var b []byte
	for try := 1; ; try++ {
		var err error
		resp, err = c.attempt(ctx, op, ref, caps, func(ep endpoint, hc *http.Client) (*http.Response, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL(ep, ref, "manifests", id), nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Accept", acceptManifests)
			return hc.Do(req)
		})
		if err != nil {
			return ocispec.Descriptor{}, nil, err
		}
		if resp.ContentLength > limit {
			resp.Body.Close()
			return ocispec.Descriptor{}, nil, newErr(op, name, errdefs.ErrTooLarge,
				"manifest of %d bytes is over the %d byte limit", resp.ContentLength, limit)
		}
		b, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
		resp.Body.Close()
		if err == nil {
			break
		}
		// A body cut short is retried like a failed request.
		if try >= c.opts.Retry.Attempts || !transientNetError(err) || ctx.Err() != nil {
			return ocispec.Descriptor{}, nil, c.wrapErr(op, name, fmt.Errorf("read manifest body: %w", err))
		}
	}
	if int64(len(b)) > limit {
		return ocispec.Descriptor{}, nil, newErr(op, name, errdefs.ErrTooLarge,
			"manifest is over the %d byte limit", limit)
	}
	if wantSize >= 0 && int64(len(b)) != wantSize {
		return ocispec.Descriptor{}, nil, newErr(op, name, errdefs.ErrDigestMismatch,
			"manifest is %d bytes, descriptor says %d", len(b), wantSize)
	}
	mt, err := manifestType(resp.Header.Get("Content-Type"), b)
	if err != nil {
		return ocispec.Descriptor{}, nil, &Error{Op: op, Ref: name, Err: err, Message: err.Error()}
	}
	dgst := want
	if dgst == "" {
		dgst = digest.FromBytes(b)
		if h := resp.Header.Get("Docker-Content-Digest"); h != "" {
			if hd, err := digest.Parse(h); err == nil && hd.Algorithm().Available() && hd.Algorithm().FromBytes(b) != hd {
				return ocispec.Descriptor{}, nil, newErr(op, name, errdefs.ErrDigestMismatch,
					"manifest does not match the registry's Docker-Content-Digest %s", hd)
			}
		}
	} else if !want.Algorithm().Available() || want.Algorithm().FromBytes(b) != want {
		return ocispec.Descriptor{}, nil, newErr(op, name, errdefs.ErrDigestMismatch,
			"manifest content does not match digest %s", want)
	}
	return ocispec.Descriptor{MediaType: mt, Digest: dgst, Size: int64(len(b))}, b, nil
}

// manifestType decides the media type from Content-Type, falling back to the
// document's own mediaType and shape; schema 1 is errdefs.ErrUnsupported.
func manifestType(contentType string, b []byte) (string, error) {
	ct, _, _ := mime.ParseMediaType(contentType)
	var doc struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     string          `json:"mediaType"`
		Manifests     json.RawMessage `json:"manifests"`
		Layers        json.RawMessage `json:"layers"`
		FSLayers      json.RawMessage `json:"fsLayers"`
	}
	jerr := json.Unmarshal(b, &doc)
	if mediatype.IsSchema1(ct) || (jerr == nil && (doc.SchemaVersion == 1 || doc.FSLayers != nil)) {
		return "", fmt.Errorf("%w: Docker schema 1 manifest (deprecated; re-push the image with a current docker, podman or skopeo)", errdefs.ErrUnsupported)
	}
	if mediatype.IsIndex(ct) || mediatype.IsManifest(ct) {
		return ct, nil
	}
	if jerr != nil {
		return "", fmt.Errorf("%w: manifest is not JSON (Content-Type %q)", errdefs.ErrUnsupported, contentType)
	}
	if mediatype.IsIndex(doc.MediaType) || mediatype.IsManifest(doc.MediaType) {
		return doc.MediaType, nil
	}
	switch {
	case doc.Manifests != nil:
		return ocispec.MediaTypeImageIndex, nil
	case doc.Layers != nil:
		return ocispec.MediaTypeImageManifest, nil
	}
	return "", fmt.Errorf("%w: unknown manifest type %q", errdefs.ErrUnsupported, cmpOr(doc.MediaType, ct))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Fetch streams the blob desc from offset (Range: bytes=offset-size-1). start is
// where the body really begins: offset after a 206, 0 when the registry
// ignored Range. The body yields exactly desc.Size-start bytes or an error;
// a registry that sends more, or announces more, is an error (errdefs.ErrTooLarge).
// A descriptor's foreign urls are never followed. Reads that stall longer
// than Options.IdleTimeout fail.
func (c *Client) Fetch(ctx context.Context, ref reference.Reference, desc ocispec.Descriptor, offset int64) (io.ReadCloser, int64, error) {
	op := "fetch blob " + string(desc.Digest)
	name := ref.String()
	if err := desc.Digest.Validate(); err != nil {
		return nil, 0, newErr(op, name, errdefs.ErrUnsupported, "bad digest: %v", err)
	}
	if desc.Size < 0 || offset < 0 || offset > desc.Size {
		return nil, 0, newErr(op, name, errdefs.ErrUnsupported, "offset %d outside blob of %d bytes", offset, desc.Size)
	}
	if offset == desc.Size {
		if desc.Size == 0 {
			offset = 0
		} else {
			return io.NopCloser(bytes.NewReader(nil)), offset, nil
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &watchdog{cancel: cancel}
	w.timer = time.AfterFunc(c.opts.ResponseTimeout, w.fire)
	resp, err := c.attempt(ctx, op, ref, []Capability{CapPull}, func(ep endpoint, hc *http.Client) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL(ep, ref, "blobs", desc.Digest.String()), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept-Encoding", "identity")
		if offset > 0 {
			// A closed range: understood by every registry (ggcr's
			// in-memory one refuses the open form).
			req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-"+strconv.FormatInt(desc.Size-1, 10))
		}
		return hc.Do(req)
	})
	if err != nil {
		w.stop()
		if w.fired() {
			err = newErr(op, name, context.DeadlineExceeded, "no response from registry within %s", c.opts.ResponseTimeout)
		}
		return nil, 0, err
	}
	start := int64(0)
	if resp.StatusCode == http.StatusPartialContent {
		s, err := rangeStart(resp.Header.Get("Content-Range"))
		if err != nil || s != offset {
			resp.Body.Close()
			w.stop()
			return nil, 0, newErr(op, name, errdefs.ErrUnsupported, "registry answered Range bytes=%d- with Content-Range %q",
				offset, resp.Header.Get("Content-Range"))
		}
		start = s
	}
	want := desc.Size - start
	if resp.ContentLength >= 0 && resp.ContentLength != want {
		resp.Body.Close()
		w.stop()
		sentinel := errdefs.ErrDigestMismatch
		if resp.ContentLength > want {
			sentinel = errdefs.ErrTooLarge
		}
		return nil, 0, newErr(op, name, sentinel, "registry announced %d bytes, expected %d (blob size %d, from offset %d)",
			resp.ContentLength, want, desc.Size, start)
	}
	w.timer.Reset(c.opts.IdleTimeout)
	return &blobBody{body: resp.Body, remaining: want, w: w, idle: c.opts.IdleTimeout, op: op, ref: name}, start, nil
}

// rangeStart parses "bytes START-END/TOTAL".
func rangeStart(cr string) (int64, error) {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, fmt.Errorf("bad Content-Range")
	}
	s, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, fmt.Errorf("bad Content-Range")
	}
	return strconv.ParseInt(s, 10, 64)
}

// watchdog cancels a request when it stalls.
type watchdog struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel context.CancelFunc
	hit    bool
}

func (w *watchdog) fire() {
	w.mu.Lock()
	w.hit = true
	w.mu.Unlock()
	w.cancel()
}

func (w *watchdog) fired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hit
}

func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel()
}

// blobBody limits a blob body to the bytes expected and turns stalls,
// short bodies and extra bytes into errors naming the blob.
type blobBody struct {
	body      io.ReadCloser
	remaining int64
	w         *watchdog
	idle      time.Duration
	op, ref   string
	err       error
}

func (b *blobBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.remaining == 0 {
		var one [1]byte
		n, err := io.ReadFull(b.body, one[:])
		if n > 0 {
			b.err = newErr(b.op, b.ref, errdefs.ErrTooLarge, "registry sent more bytes than the blob's size")
			return 0, b.err
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, io.EOF
		}
		// Nothing extra arrived; an error on trailing read is harmless.
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.body.Read(p)
	b.remaining -= int64(n)
	if n > 0 {
		b.w.timer.Reset(b.idle)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		if b.remaining > 0 {
			b.err = &Error{Op: b.op, Ref: b.ref, Err: io.ErrUnexpectedEOF,
				Message: fmt.Sprintf("connection closed with %d bytes still to come", b.remaining)}
			return n, b.err
		}
		return n, nil
	}
	if err != nil {
		if b.w.fired() {
			b.err = &Error{Op: b.op, Ref: b.ref, Err: context.DeadlineExceeded,
				Message: fmt.Sprintf("download stalled: no data for %s", b.idle)}
		} else {
			b.err = &Error{Op: b.op, Ref: b.ref, Err: err, Message: "download interrupted: " + oneLine(err.Error())}
		}
		return n, b.err
	}
	return n, nil
}

func (b *blobBody) Close() error {
	b.w.stop()
	return b.body.Close()
}
