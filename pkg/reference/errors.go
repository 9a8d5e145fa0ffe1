package reference

import "errors"

// ErrInvalid is wrapped by every parse error; the message quotes the input.
var ErrInvalid = errors.New("invalid reference")
