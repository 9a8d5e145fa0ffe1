// Package image puts a pull together: resolve a reference, pick the
// manifest for a platform out of an index, fetch config and layers in
// parallel into the content store (resuming partial downloads), and name
// the result. It also loads a stored image back by reference without
// touching the network. A pull reports its transfers as Progress events;
// drawing them is left to the caller (pkg/progress). A re-pull of a stored
// name asks with HEAD first (a Fetcher that is also a Header): when the
// registry names a manifest the store holds, that one request is all.
//
// Platforms: a multi-platform image is stored one pulled platform at a
// time under the index's name. Select is the one place a stored image's
// platform is chosen (the one asked for, else the host's); a platform that
// is not stored is a PlatformNotStoredError naming those that are, and
// Platforms lists them.
package image
