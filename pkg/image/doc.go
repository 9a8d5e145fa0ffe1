// Package image puts a pull together: resolve a reference, pick the
// manifest for a platform out of an index, fetch config and layers in
// parallel into the content store (resuming partial downloads), and name
// the result. It also loads a stored image back by reference without
// touching the network. A pull reports its transfers as Progress events;
// drawing them is left to the caller (pkg/progress).
package image
