// Package transfer copies an image tree (an index, its manifests, their
// configs and layers) from one place to another without unpacking it: the
// local content store to a registry (push), a registry to another
// (copy), or between a registry and an OCI layout directory or a
// docker-archive tarball. Blobs stream from source to destination, so
// memory stays bounded by a buffer, not by a blob; manifests are copied
// byte for byte, so the destination's digests equal the source's. Blobs
// the destination already has are skipped, and blobs of the same registry
// are mounted across repositories rather than sent again.
package transfer
