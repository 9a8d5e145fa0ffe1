// Package gc frees what nothing needs, across every part of a data root:
// blobs unreachable from index.json, partial downloads nobody holds,
// snapshots whose chain no stored image or container uses, and snapshot
// builds abandoned by a crash. It is a loop over the parts (see package
// dataroot): each part knows only its own state.
package gc
