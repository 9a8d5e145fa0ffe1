// Package unpack applies OCI/Docker image layers (tar streams, optionally
// gzip or zstd compressed) onto a directory, in one of two modes: Flat
// (layers stacked into one root filesystem, whiteouts delete) or Overlay
// (each layer in its own directory, whiteouts become overlayfs whiteouts
// and opaque markers the overlay opaque xattr).
//
// Every path of a layer is resolved inside the target directory as if it
// were "/", by package confine: openat2(RESOLVE_IN_ROOT|
// RESOLVE_NO_MAGICLINKS) on an O_PATH fd of the target, or a
// component-by-component walk with the same semantics where the kernel
// lacks openat2. Entries are created with *at system
// calls relative to the resolved parent; the last component is never
// followed (O_NOFOLLOW|O_EXCL, AT_SYMLINK_NOFOLLOW, linkat without
// AT_SYMLINK_FOLLOW), and modes and xattrs are set on file descriptors.
// Names with ".." components, non-directories named "/" and whiteouts of
// "." or ".." are refused (ErrUnsafePath); a parent that resolves to
// nothing inside the target is refused (ErrBreakout). A layer's overlayfs
// xattrs (trusted.overlay.*, user.overlay.*: redirects, opaque markers) are
// dropped and reported through Options.Skipped.
//
// Options.Rootless unpacks as an ordinary user (no chown, no device
// nodes); Options.UserNS as root of a user namespace (owners set where the
// namespace maps them, device nodes and privileged xattrs skipped, opaque
// markers as user.overlay.opaque for overlayfs mounted with userxattr).
// What either leaves out is reported through Options.Skipped.
//
// Whiteouts only hide what lower layers put there: entries the same layer
// creates survive, in whatever order the tar lists them.
//
// Limits per header (ErrLimit): names and link names of 4096 bytes,
// components of 255, 1024 PAX records, 128 xattrs of at most 64 KiB and
// 1 MiB in all; archive/tar caps PAX and GNU long-name headers at 1 MiB.
// Content is streamed (ApplyLayer decompresses and hashes in a second
// goroutine, at most a few MiB ahead), so memory does not grow with the
// layer's size.
//
// Plain ustar and GNU headers are parsed directly from the decompressed
// buffers; PAX and GNU long-name headers, sparse files and anything
// unusual go through archive/tar (FuzzTarReader holds both to the same
// result). Small regular files (up to 64 KiB, no xattrs) in a directory
// this Apply made, at a name nothing but a regular file of this layer can
// hold, are handed in batches to two worker goroutines that only make
// system calls (openat, write, utimensat, close), resolved against the
// same confined directory fds. Everything else is applied in order by
// Apply itself, after a barrier (every handed-over file done) wherever it
// could see or change a worker's file: the same name in flight, hardlinks,
// whiteouts, anything replacing what exists, directory changes, the end.
// A worker's failure stops the unpack with the first failed entry's error.
// A Flat apply onto an empty directory keeps no map of the layer's paths
// (nothing there is a lower layer's for whiteouts to hide).
package unpack
