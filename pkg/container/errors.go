package container

import "errors"

// A ref that names no container (by id, id prefix or name) is errdefs.ErrNotFound.
var (
	// ErrAmbiguous: an id prefix matches several containers.
	ErrAmbiguous = errors.New("ambiguous container id prefix")
	// ErrNameInUse: another container already has that name.
	ErrNameInUse = errors.New("container name already in use")
	// ErrInvalidName: names are [a-zA-Z0-9][a-zA-Z0-9_.-]*.
	ErrInvalidName = errors.New("invalid container name")
	// ErrRunning: the container is running (remove it with force).
	ErrRunning = errors.New("container is running")
	// ErrNotRunning: the container is not running (nothing to signal).
	ErrNotRunning = errors.New("container is not running")
	// ErrBadSignal: the signal name or number is not known.
	ErrBadSignal = errors.New("unknown signal")
)
