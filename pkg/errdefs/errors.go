package errdefs

import "errors"

var (
	// ErrNotFound: no such blob, image, manifest, container, command or
	// hardlink target.
	ErrNotFound = errors.New("not found")
	// ErrExists: the thing is already there (a committed blob).
	ErrExists = errors.New("already exists")
	// ErrDigestMismatch: bytes do not hash to the digest they were asked by
	// or stored under.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrDiffIDMismatch: a layer's uncompressed bytes do not hash to the
	// config's rootfs.diff_ids entry. It is a digest mismatch too:
	// errors.Is(err, ErrDigestMismatch) holds for it.
	ErrDiffIDMismatch error = &subKind{msg: "layer does not match the config's diff_id", kind: ErrDigestMismatch}
	// ErrSizeMismatch: bytes are not as long as their descriptor says.
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrTooLarge: a blob, manifest or file is larger than allowed.
	ErrTooLarge = errors.New("too large")
	// ErrUnsupported: something ctr-lite does not handle: a manifest format
	// (Docker schema 1), a registry answer, a tar entry type, a seccomp rule.
	ErrUnsupported = errors.New("unsupported")
)

// subKind is a sentinel that is also a case of a broader one.
type subKind struct {
	msg  string
	kind error
}

func (e *subKind) Error() string { return e.msg }

func (e *subKind) Unwrap() error { return e.kind }
