// Package unpack applies OCI/Docker image layers (tar streams, optionally
// gzip or zstd compressed) onto a directory, in one of two modes: Flat
// (layers stacked into one root filesystem, whiteouts delete) or Overlay
// (each layer in its own directory, whiteouts become overlayfs whiteouts).
//
// Every path of a layer is resolved inside the target directory as if it
// were "/": openat2(RESOLVE_IN_ROOT) where the kernel has it, a careful
// component-by-component walk otherwise, and every file is created with
// *at system calls relative to the resolved parent. A layer can create
// anything inside the target but nothing outside it.
package unpack
