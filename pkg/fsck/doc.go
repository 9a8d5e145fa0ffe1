// Package fsck checks a whole data root: every blob against its digest,
// every name's tree of manifests, every snapshot against the chain it
// claims, mounts left by dead containers, and leftovers of crashes; with
// repair it removes what is broken so the next pull or unpack fetches or
// rebuilds it. It is a loop over the parts (see package dataroot).
package fsck
