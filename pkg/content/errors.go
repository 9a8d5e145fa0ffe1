package content

import "errors"

var (
	// ErrNotFound: no blob or name.
	ErrNotFound = errors.New("not found")
	// ErrExists: the blob is already committed.
	ErrExists = errors.New("already exists")
	// ErrDigestMismatch: the bytes do not hash to the expected digest.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrSizeMismatch: the bytes are not as long as the descriptor says.
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrTooLarge: a blob is bigger than the caller allows.
	ErrTooLarge = errors.New("blob too large")
)
