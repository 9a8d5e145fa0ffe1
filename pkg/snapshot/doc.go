// Package snapshot keeps one unpacked directory per layer chain under
// <root>/snapshots/<chainID>/, built once and shared by every image whose
// layers start with the same chain. A snapshot is built in a temporary
// directory under a lock, synced, marked done and renamed into place, so a
// crash never leaves something that looks complete. Prepare returns the
// directories (overlay lower dirs) an image needs; Mounts turns them into
// an overlay mount for a container. In a root used from a user namespace
// (dataroot.Root.UserNS) layers are unpacked with unpack.Options.UserNS, so
// their opaque markers are the user.overlay.opaque xattr.
package snapshot
