// Package fsck checks a whole ctr-lite root: every blob against its digest,
// every name's tree of manifests, every snapshot against the chain it
// claims, and leftovers of crashes; with repair it removes what is broken
// so the next pull or unpack fetches or rebuilds it.
package fsck
