// Package rootfs writes an image's flattened root filesystem into a
// directory: whiteouts delete, opaque directories hide what lower layers
// put there, and each layer's uncompressed digest is checked against the
// config. As root, layers are applied in parallel in overlay form in a
// work directory beside the target and then merged into it bottom-up with
// renames (a layer waits for the ones below only when it needs them);
// otherwise, or where no such directory can be made, they are applied one
// after the other.
package rootfs
