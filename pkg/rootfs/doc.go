// Package rootfs writes an image's flattened root filesystem into a
// directory: its layers applied in order from the content store, whiteouts
// deleting, each layer's uncompressed digest checked against the config.
// Decompression of the next layer runs ahead while the current one is
// applied, so both cores work on a multi-layer image.
package rootfs
