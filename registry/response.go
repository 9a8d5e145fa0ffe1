package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// responseError turns a non-success response into an *Error, reading the
// registry's JSON error body (bounded).
func responseError(op, ref string, resp *http.Response) *Error {
	e := &Error{Op: op, Ref: ref, Status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var doc struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	var msgs []string
	if json.Unmarshal(body, &doc) == nil {
		for _, d := range doc.Errors {
			if d.Code != "" {
				e.Codes = append(e.Codes, d.Code)
			}
			if d.Message != "" {
				msgs = append(msgs, d.Message)
			}
		}
	}
	e.Message = describe(e, strings.Join(msgs, "; "))
	return e
}

// describe words the cause for a user.
func describe(e *Error, registryMsg string) string {
	var cause string
	switch {
	case errors.Is(e, ErrUnauthorized):
		cause = "access denied: not logged in, wrong credentials, or no permission"
		e.Err = ErrUnauthorized
	case errors.Is(e, errdefs.ErrNotFound):
		cause = "not found"
		e.Err = errdefs.ErrNotFound
	case e.Status == http.StatusTooManyRequests:
		cause = "rate limited by the registry"
	case e.Status >= 500:
		cause = "registry server error"
	default:
		cause = "unexpected response"
	}
	if registryMsg != "" {
		cause += ": " + oneLine(registryMsg)
	}
	return cause
}

// wrapErr types an error from the HTTP layer or the auth handshake.
func (c *Client) wrapErr(op, ref string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var te *transport.Error
	if errors.As(err, &te) {
		e := &Error{Op: op, Ref: ref, Status: te.StatusCode, Err: err}
		var msgs []string
		for _, d := range te.Errors {
			e.Codes = append(e.Codes, string(d.Code))
			if d.Message != "" {
				msgs = append(msgs, d.Message)
			}
		}
		e.Message = describe(e, strings.Join(msgs, "; "))
		e.Err = err
		return e
	}
	e = &Error{Op: op, Ref: ref, Err: err}
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, context.Canceled):
		e.Message = "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		e.Message = "timed out: " + oneLine(err.Error())
	case errors.As(err, &oe):
		e.Message = "cannot reach registry: " + oneLine(err.Error())
	case errors.As(err, &ne) && ne.Timeout():
		e.Message = "timed out: " + oneLine(err.Error())
	default:
		e.Message = oneLine(err.Error())
	}
	return e
}

// newErr builds an *Error around a sentinel with a description.
func newErr(op, ref string, sentinel error, format string, args ...any) *Error {
	return &Error{Op: op, Ref: ref, Err: sentinel, Message: fmt.Sprintf(format, args...)}
}
