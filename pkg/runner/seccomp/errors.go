package seccomp

import "errors"

// ErrUnsupported means the profile uses an action or argument operator the
// pure-Go compiler does not implement.
var ErrUnsupported = errors.New("unsupported seccomp rule")
