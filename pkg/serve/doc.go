// Package serve is a read-only OCI distribution endpoint over the local
// content store: /v2/, manifests by tag or digest, blobs by digest, with
// HEAD and Range, so that another node's hosts.toml can list this one as a
// mirror. Tags are the store's image names: a mirror request carries the
// upstream registry in ?ns= (containerd's convention, which ctr-lite's
// client follows), and without it a repository is matched against the
// stored names. Every blob is hashed before its first byte is served (the
// result is remembered per file), so a blob damaged on disk is never
// served; writes are refused with 405.
package serve
