package inspect

import "errors"

var (
	// ErrLayerCount says the manifest and the config disagree on the
	// number of layers.
	ErrLayerCount = errors.New("manifest layers and config diff_ids differ in number")
	// ErrNoLayer says a layer index is out of range.
	ErrNoLayer = errors.New("no such layer")
	// ErrNoBaseline says a rule needs a baseline image and none was given.
	ErrNoBaseline = errors.New("rule needs a baseline image")
	// ErrBadSize says a size string cannot be parsed.
	ErrBadSize = errors.New("invalid size")
	// ErrBadRules says a rules file or value is invalid.
	ErrBadRules = errors.New("invalid rules")
)
