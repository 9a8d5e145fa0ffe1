package inspect

import "errors"

var (
	// ErrDiffIDMismatch says a layer's uncompressed sha256 is not the
	// config's rootfs.diff_ids entry for it.
	ErrDiffIDMismatch = errors.New("layer diffID does not match the config")
	// ErrDigestMismatch says a layer blob's sha256 or size is not the
	// manifest descriptor's.
	ErrDigestMismatch = errors.New("layer blob does not match its descriptor")
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
	// ErrNotFound says an OCI layout holds no image of the asked name.
	ErrNotFound = errors.New("image not found in layout")
)
