package snapshot

import "errors"

// ErrNoDiffIDs: the config lists no rootfs.diff_ids, so chains cannot be keyed.
// A layer that does not match its diff_id is errdefs.ErrDiffIDMismatch.
var ErrNoDiffIDs = errors.New("image config lists no diff IDs for its layers")
