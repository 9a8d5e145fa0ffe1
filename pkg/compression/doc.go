// Package compression opens layer streams: it tells gzip, zstd and plain tar
// apart by media type and magic bytes and returns a streaming decompressor.
// Every package that reads layer contents (unpack, inspect) goes through it,
// so the rules for what a layer may be live in one place.
//
// zstd decoders are reused: closing a zstd stream hands its decoder (and
// its window-sized history buffer) to the next layer opened, through a
// sync.Pool (idle decoders go at the next GCs), so a many-layer image
// allocates the window about once per layer unpacked at a time instead of
// once per layer. The window cap and the skipped frame checksum (the
// diffID check covers the stream) are the same for a reused decoder.
package compression
