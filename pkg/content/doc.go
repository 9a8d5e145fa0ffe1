// Package content is ctr-lite's blob store, one part of a data root (see
// package dataroot): an OCI image layout under <root>/content (readable by
// skopeo and umoci) plus resumable, locked ingests under <root>/ingest,
// image names in index.json, and its share of gc and fsck. Callers hold a
// lease of the root (dataroot.Root.Lease) while they add blobs and names.
//
// Every blob is written to <root>/ingest/<hex> under an exclusive flock on
// <root>/ingest/<hex>.lock, verified (size and sha256), fsynced and renamed
// into content/blobs/sha256/<hex>, so a reader never sees a partial or
// corrupt blob, across processes and crashes.
package content
