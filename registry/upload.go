package registry

import (
	"context"
	"errors"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"io"
	"net/http"
	"net/url"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/reference"
)

// BlobOpener returns a blob's bytes from offset on: the store's file, or
// another registry's body (Client.Fetch) when copying.
type BlobOpener func(ctx context.Context, offset int64) (io.ReadCloser, error)

// UploadOptions tune Upload.
type UploadOptions struct {
	// MountFrom is a repository of the same registry that holds the blob:
	// the registry is asked to mount it rather than receive it again.
	MountFrom string
	// ChunkSize is the most bytes sent in one PATCH; a dropped connection
	// costs at most one chunk. Default 16 MiB.
	ChunkSize int64
	// Resumes is how often the upload may continue after a failed chunk;
	// default 5.
	Resumes int
	// Sent, when set, is told of every chunk the registry acknowledged.
	Sent func(n int64)
}

// Upload sends the blob desc to ref's repository: a cross-repository mount
// when MountFrom is set and the registry agrees, else a chunked upload.
// After a failed chunk it asks the upload session how much the registry
// holds (its Range header) and continues from there, re-opening the source
// at that offset; a lost session starts over. The registry checks the
// digest when the upload is closed. It reports whether the blob was mounted.
func (c *Client) Upload(ctx context.Context, ref reference.Reference, desc ocispec.Descriptor, open BlobOpener, opts UploadOptions) (bool, error) {
	op := "push blob " + string(desc.Digest)
	name := ref.String()
	if err := desc.Digest.Validate(); err != nil {
		return false, newErr(op, name, errdefs.ErrUnsupported, "bad digest: %v", err)
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 16 << 20
	}
	if opts.Resumes <= 0 {
		opts.Resumes = 5
	}
	if opts.Sent == nil {
		opts.Sent = func(int64) {}
	}
	t, err := c.pusher(ctx, op, ref)
	if err != nil {
		return false, err
	}
	u := &upload{c: c, t: t, ref: ref, desc: desc, op: op, opts: opts}
	if mounted, err := u.start(ctx, opts.MountFrom); err != nil || mounted {
		return mounted, err
	}
	wait := c.opts.Retry.Backoff
	for failures := 0; ; failures++ {
		err := u.send(ctx, open)
		if err == nil {
			break
		}
		if failures >= opts.Resumes || ctx.Err() != nil || !resumable(err) {
			return false, c.wrapErr(op, name, err)
		}
		if err := sleep(ctx, min(wait, c.opts.Retry.MaxWait)); err != nil {
			return false, c.wrapErr(op, name, err)
		}
		wait *= 2
		if err := u.resume(ctx); err != nil {
			return false, c.wrapErr(op, name, err)
		}
	}
	return false, u.finish(ctx)
}

// upload is one blob upload session.
type upload struct {
	c    *Client
	t    pushTarget
	ref  reference.Reference
	desc ocispec.Descriptor
	op   string
	opts UploadOptions
	loc  string // the session's URL
	off  int64  // bytes the registry holds
}

// start opens an upload session (POST), asking for a mount when from is
// set; a registry that mounted the blob answers 201.
func (u *upload) start(ctx context.Context, from string) (bool, error) {
	target := apiURL(u.t.ep, u.ref, "blobs", "uploads/")
	if from != "" && from != u.ref.Repository() {
		target += "?mount=" + url.QueryEscape(u.desc.Digest.String()) + "&from=" + url.QueryEscape(from)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return false, err
	}
	resp, err := u.t.do(req, u.op, u.ref, http.StatusAccepted, http.StatusCreated)
	if err != nil {
		return false, u.c.wrapErr(u.op, u.ref.String(), err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		return true, nil
	}
	if u.loc, err = location(req, resp); err != nil {
		return false, newErr(u.op, u.ref.String(), errdefs.ErrUnsupported, "%v", err)
	}
	u.off = 0
	return false, nil
}

// send streams the rest of the blob from u.off in chunks.
func (u *upload) send(ctx context.Context, open BlobOpener) error {
	if u.off >= u.desc.Size {
		return nil
	}
	rc, err := open(ctx, u.off)
	if err != nil {
		return fmt.Errorf("read blob at offset %d: %w", u.off, err)
	}
	defer rc.Close()
	for u.off < u.desc.Size {
		n := min(u.opts.ChunkSize, u.desc.Size-u.off)
		req, err := http.NewRequestWithContext(ctx, http.MethodPatch, u.loc, io.NopCloser(io.LimitReader(rc, n)))
		if err != nil {
			return err
		}
		req.ContentLength = n
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", contentRange(u.off, n))
		resp, err := u.t.do(req, u.op, u.ref, http.StatusAccepted, http.StatusNoContent, http.StatusCreated)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if u.loc, err = location(req, resp); err != nil {
			return err
		}
		u.off += n
		u.opts.Sent(n)
	}
	return nil
}

// resume asks the session how many bytes the registry holds; a session
// the registry forgot is started anew.
func (u *upload) resume(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.loc, nil)
	if err != nil {
		return err
	}
	resp, err := u.t.hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		_, err := u.start(ctx, "")
		return err
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return responseError(u.op, u.ref.String(), resp)
	}
	held, err := uploadedUpTo(resp.Header.Get("Range"))
	if err != nil || held > u.desc.Size {
		return newErr(u.op, u.ref.String(), errdefs.ErrUnsupported, "upload session reports Range %q for a blob of %d bytes",
			resp.Header.Get("Range"), u.desc.Size)
	}
	if held <= 1 {
		// "0-0" means one byte or (for some registries) none: start over.
		_, err := u.start(ctx, "")
		return err
	}
	if loc, err := location(req, resp); err == nil {
		u.loc = loc
	}
	u.off = held
	return nil
}

// finish closes the session with the digest (PUT); the registry verifies it.
func (u *upload) finish(ctx context.Context) error {
	target, err := withQuery(u.loc, "digest", u.desc.Digest.String())
	if err != nil {
		return newErr(u.op, u.ref.String(), errdefs.ErrUnsupported, "upload location: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, http.NoBody)
	if err != nil {
		return err
	}
	req.ContentLength = 0
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := u.t.do(req, u.op, u.ref, http.StatusCreated, http.StatusNoContent, http.StatusAccepted)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.hasCode("DIGEST_INVALID", "SIZE_INVALID") {
			e.Err = errdefs.ErrDigestMismatch
			e.Message = fmt.Sprintf("registry %s refused the blob: its bytes do not match the digest (%s)", u.ref.Registry(), e.Message)
		}
		return u.c.wrapErr(u.op, u.ref.String(), err)
	}
	resp.Body.Close()
	return nil
}

// resumable: network failures, server errors, and a registry that lost
// track of the offset (416); not authorization or bad requests.
func resumable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		switch {
		case e.Status == http.StatusRequestedRangeNotSatisfiable, e.Status == http.StatusTooManyRequests, e.Status >= 500:
			return true
		case e.Status != 0:
			return false
		}
	}
	for _, permanent := range []error{context.Canceled, errdefs.ErrNotFound, errdefs.ErrDigestMismatch, errdefs.ErrTooLarge, errdefs.ErrUnsupported} {
		if errors.Is(err, permanent) {
			return false // the source's answer will not change on a retry
		}
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
