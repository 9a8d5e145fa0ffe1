package registry

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// Sentinels, matched with errors.Is against any error this package returns,
// besides errdefs.ErrNotFound, errdefs.ErrTooLarge, errdefs.ErrDigestMismatch and
// errdefs.ErrUnsupported (schema 1, a registry answer this client cannot use).
var (
	// ErrUnauthorized: access denied or credentials missing or wrong.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrInsecure: plain HTTP to a registry that was not allowed it.
	ErrInsecure = errors.New("insecure registry")
)

// Error is what a failed registry operation returns: one line naming the
// operation, the image and the cause. Status and Codes are the HTTP status
// and the distribution error codes (MANIFEST_UNKNOWN, DENIED, ...), when the
// registry answered.
type Error struct {
	Op      string   // "resolve", "fetch manifest sha256:...", "fetch blob sha256:..."
	Ref     string   // the full image reference
	Status  int      // HTTP status, 0 when no response
	Codes   []string // registry error codes
	Message string   // the registry's message or our description of the cause
	Err     error    // underlying error (a sentinel, a net error, ...)
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.Op, e.Ref)
	switch {
	case e.Message != "":
		b.WriteString(e.Message)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	case e.Status != 0:
		b.WriteString(strings.ToLower(http.StatusText(e.Status)))
	default:
		b.WriteString("failed")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
		if len(e.Codes) > 0 {
			fmt.Fprintf(&b, " %s", strings.Join(e.Codes, ","))
		}
		b.WriteString(")")
	}
	return strings.ReplaceAll(b.String(), "\n", " ")
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports sentinel matches derived from the status and codes, so an
// *Error built from a registry response matches errdefs.ErrNotFound or
// ErrUnauthorized without the caller knowing the codes.
func (e *Error) Is(target error) bool {
	switch target {
	case errdefs.ErrNotFound:
		if e.Status == http.StatusNotFound {
			return true
		}
		return e.hasCode("MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN")
	case ErrUnauthorized:
		if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
			return true
		}
		return e.hasCode("UNAUTHORIZED", "DENIED")
	}
	return false
}

func (e *Error) hasCode(codes ...string) bool {
	for _, c := range e.Codes {
		for _, w := range codes {
			if c == w {
				return true
			}
		}
	}
	return false
}
