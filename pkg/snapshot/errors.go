package snapshot

import "errors"

var (
	// ErrDiffIDMismatch: a layer's uncompressed bytes do not hash to the
	// config's rootfs.diff_ids entry.
	ErrDiffIDMismatch = errors.New("layer does not match the config's diff_id")
	// ErrNoDiffIDs: the config lists no rootfs.diff_ids, so chains cannot be keyed.
	ErrNoDiffIDs = errors.New("image config lists no diff IDs for its layers")
)
