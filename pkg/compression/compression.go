package compression

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Kind is a layer's compression.
type Kind int

const (
	// Uncompressed is a plain tar stream.
	Uncompressed Kind = iota
	// Gzip is RFC 1952 gzip.
	Gzip
	// Zstd is zstandard.
	Zstd
)

func (k Kind) String() string {
	switch k {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	default:
		return "uncompressed"
	}
}

// ErrMismatch says the media type names one compression and the bytes another.
var ErrMismatch = errors.New("layer compression does not match its media type")

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// FromMediaType returns the compression a layer media type names, and false
// when the media type says nothing about it (an unknown or empty type).
func FromMediaType(mediaType string) (Kind, bool) {
	switch {
	case strings.HasSuffix(mediaType, "+gzip"), strings.HasSuffix(mediaType, ".gzip"): // OCI's +gzip, Docker's .tar.gzip
		return Gzip, true
	case strings.HasSuffix(mediaType, "+zstd"), strings.HasSuffix(mediaType, ".zstd"):
		return Zstd, true
	case strings.HasSuffix(mediaType, ".tar"), strings.HasSuffix(mediaType, "layer.v1.tar"):
		return Uncompressed, true
	}
	return Uncompressed, false
}

// Detect returns the compression of the bytes in head (at least 4 bytes
// are needed to tell zstd from tar).
func Detect(head []byte) Kind {
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return Gzip
	case bytes.HasPrefix(head, zstdMagic):
		return Zstd
	}
	return Uncompressed
}

// Decompress wraps r in a decompressor chosen by the magic bytes, checked
// against mediaType when the media type names a compression. The returned
// reader streams: nothing is buffered beyond the decompressor's window.
func Decompress(r io.Reader, mediaType string) (io.ReadCloser, Kind, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, Uncompressed, fmt.Errorf("read layer header: %w", err)
	}
	kind := Detect(head)
	if want, ok := FromMediaType(mediaType); ok && want != kind {
		return nil, kind, fmt.Errorf("%w: media type %s, content is %s", ErrMismatch, mediaType, kind)
	}
	switch kind {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, kind, fmt.Errorf("open gzip layer: %w", err)
		}
		return zr, kind, nil
	case Zstd:
		// The frame checksum is skipped: every layer's uncompressed stream
		// is checked against its diffID (sha256) by whoever reads it.
		// The window is capped so a frame cannot make the decoder hold
		// hundreds of MiB (zstd allows up to 3.75 TB; the library 512 MiB).
		zr, err := newZstd(br)
		if err != nil {
			return nil, kind, fmt.Errorf("open zstd layer: %w", err)
		}
		return &zstdCloser{Decoder: zr}, kind, nil
	}
	return io.NopCloser(br), kind, nil
}

// MaxZstdWindow is the largest zstd window a layer may ask for: every
// compression level up to `--ultra -21` stays within it (-19 uses 8 MiB);
// larger windows are refused with an error naming the limit.
const MaxZstdWindow = 64 << 20

// zstdIdle holds decoders of finished layers for the next ones: a decoder
// keeps its history buffer (the window, 8 MiB at the default level), so a
// reused one allocates nothing where a new one would allocate the window
// again. A sync.Pool, so that idle decoders go at the next GCs: when many
// layers are open at once (each waiting for the ones below it), memory is
// short and GCs frequent, and an idle window held for later would only
// add to the peak. With concurrency 1 a decoder runs no goroutine, so
// dropping one unclosed leaks nothing.
var zstdIdle sync.Pool

func newZstd(r io.Reader) (*zstd.Decoder, error) {
	if d, ok := zstdIdle.Get().(*zstd.Decoder); ok {
		if err := d.Reset(r); err != nil {
			d.Close()
			return nil, err
		}
		return d, nil
	}
	return zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.IgnoreChecksum(true), zstd.WithDecoderMaxWindow(MaxZstdWindow))
}

type zstdCloser struct {
	*zstd.Decoder
	closed bool
}

func (z *zstdCloser) Read(p []byte) (int, error) {
	n, err := z.Decoder.Read(p)
	if errors.Is(err, zstd.ErrWindowSizeExceeded) {
		err = fmt.Errorf("zstd layer asks for a window larger than %d MiB: %w", MaxZstdWindow>>20, err)
	}
	return n, err
}

// Close hands the decoder on to the next layer, after dropping its input.
func (z *zstdCloser) Close() error {
	if z.closed {
		return nil
	}
	z.closed = true
	if err := z.Decoder.Reset(nil); err != nil {
		z.Decoder.Close()
		return nil
	}
	zstdIdle.Put(z.Decoder)
	return nil
}
