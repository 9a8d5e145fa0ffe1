// Package compression opens layer streams: it tells gzip, zstd and plain tar
// apart by media type and magic bytes and returns a streaming decompressor.
// Every package that reads layer contents (unpack, inspect) goes through it,
// so the rules for what a layer may be live in one place.
package compression
