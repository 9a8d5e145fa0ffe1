// Package dataroot owns ctr-lite's data directory (--root): where each part
// of the state lives, the one file-lock implementation and the lock names,
// the leases that keep garbage collection away, whether the root is used
// rootless or from a user namespace (Root.Rootless, Root.UserNS), and the
// contract every part keeps for gc and fsck.
//
// # Terms
//
// A root is one directory, made absolute when opened. A part is one kind
// of state kept under it, in its own directory named after the part:
//
//	<root>/content     the OCI image layout (package content)
//	<root>/ingest      content's partial downloads
//	<root>/snapshots   unpacked layers keyed by chain ID (package snapshot)
//	<root>/containers  container records (package container)
//	<root>/locks/<part>/<name>   a part's named locks
//	<root>/locks/gc    the gc lock: shared by leases, exclusive for gc
//
// A part asks the root for its directory (Root.Dir) and its lock namespace
// (Root.Locks) and touches nothing else under the root: no part knows
// another's paths.
//
// # Lifecycle
//
// Open makes the root directory (0700) when it is missing. It never changes
// the mode or owner of a directory that exists, and it opens a read-only
// root for reading: the parts' directories are made when a part first
// needs them.
//
// Every process that adds state takes a lease (Root.Lease) for as long as
// it needs what it wrote, from its first blob to its last name. GC holds
// the gc lock exclusively (Root.Collecting): it waits for every lease to
// go, and holds new ones off until it is done. Fsck holds a lease, so what
// it reads is not collected under it.
//
// # Parts in gc and fsck
//
// A Part collects what nothing refers to and checks its own state. A part
// whose records keep another part's keys alive (containers keep snapshot
// chains) is also a Referrer. Packages gc and fsck are loops over the
// parts: gc takes the gc lock, asks every Referrer for its references,
// then lets each part collect; fsck takes a lease and checks each part.
package dataroot
