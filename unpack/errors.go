package unpack

import (
	"errors"
	"fmt"
)

var (
	// ErrUnsafePath is returned for an entry whose name or link target can
	// never be applied safely: ".." components, a symlink or file named "."
	// or "/", a whiteout of "." or "..".
	ErrUnsafePath = errors.New("unsafe path")
	// ErrBreakout is returned when resolving an entry would leave the target.
	ErrBreakout = errors.New("path resolves outside the target")
	// ErrLimit is returned when a header, name or xattr set exceeds a cap.
	ErrLimit = errors.New("layer exceeds a limit")
)

// EntryError names the layer entry an error happened on.
type EntryError struct {
	Name string // the entry's name as written in the tar header
	Op   string
	Err  error
}

func (e *EntryError) Error() string { return fmt.Sprintf("entry %q: %s: %v", e.Name, e.Op, e.Err) }

func (e *EntryError) Unwrap() error { return e.Err }
