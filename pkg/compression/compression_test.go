package compression

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func compress(t *testing.T, k Kind, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch k {
	case Gzip:
		w := gzip.NewWriter(&buf)
		w.Write(data)
		w.Close()
	case Zstd:
		w, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	default:
		buf.Write(data)
	}
	return buf.Bytes()
}

func TestDecompress(t *testing.T) {
	payload := bytes.Repeat([]byte("layer-bytes "), 1000)
	tests := []struct {
		name      string
		kind      Kind
		mediaType string
		wantErr   error
	}{
		{"gzip oci", Gzip, "application/vnd.oci.image.layer.v1.tar+gzip", nil},
		{"gzip docker", Gzip, "application/vnd.docker.image.rootfs.diff.tar.gzip", nil},
		{"zstd oci", Zstd, "application/vnd.oci.image.layer.v1.tar+zstd", nil},
		{"plain oci", Uncompressed, "application/vnd.oci.image.layer.v1.tar", nil},
		{"unknown media type sniffed", Zstd, "", nil},
		{"gzip labelled zstd", Gzip, "application/vnd.oci.image.layer.v1.tar+zstd", ErrMismatch},
		{"plain labelled gzip", Uncompressed, "application/vnd.oci.image.layer.v1.tar+gzip", ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, kind, err := Decompress(bytes.NewReader(compress(t, tt.kind, payload)), tt.mediaType)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if kind != tt.kind {
				t.Errorf("kind = %v, want %v", kind, tt.kind)
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Errorf("decompressed %d bytes, want %d identical bytes", len(got), len(payload))
			}
		})
	}
}

func TestDecompressShortInput(t *testing.T) {
	rc, kind, err := Decompress(bytes.NewReader([]byte{1}), "")
	if err != nil || kind != Uncompressed {
		t.Fatalf("kind=%v err=%v", kind, err)
	}
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, []byte{1}) {
		t.Fatalf("got %v", got)
	}
}

// zstdFrame is a hand-made zstd frame: no single-segment flag, so the
// window descriptor byte (exponent<<3, windowLog = 10+exponent) says how
// much history the decoder must keep, and one raw last block holding data.
func zstdFrame(windowLog byte, data string) []byte {
	f := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3}
	n := len(data)
	f = append(f, byte(n<<3|1), byte(n>>5), byte(n>>13))
	return append(f, data...)
}

func TestZstdWindowCap(t *testing.T) {
	tests := []struct {
		name      string
		windowLog byte
		wantErr   bool
	}{
		{"1 MiB window", 20, false},
		{"64 MiB window", 26, false},
		{"128 MiB window", 27, true},
		{"512 MiB window", 29, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, kind, err := Decompress(bytes.NewReader(zstdFrame(tt.windowLog, "tar")), "")
			if err != nil || kind != Zstd {
				t.Fatalf("kind=%v err=%v", kind, err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if !tt.wantErr {
				if err != nil || string(got) != "tar" {
					t.Fatalf("got %q, %v", got, err)
				}
				return
			}
			if !errors.Is(err, zstd.ErrWindowSizeExceeded) || !strings.Contains(err.Error(), "64 MiB") {
				t.Fatalf("err = %v, want the window refused naming 64 MiB", err)
			}
		})
	}
}

// TestZstdDecoderReuse decodes layers one after another with the decoders
// that earlier layers handed back: a layer closed half-read, a corrupt
// one, one asking for too large a window, and a Close called twice must
// leave nothing behind in the next layer's bytes.
func TestZstdDecoderReuse(t *testing.T) {
	a := bytes.Repeat([]byte("first layer "), 300000)
	b := bytes.Repeat([]byte("second, other layer "), 200000)
	za, zb := compress(t, Zstd, a), compress(t, Zstd, b)
	corrupt := append([]byte{}, zb...)
	for i := len(corrupt) / 2; i < len(corrupt)/2+64; i++ {
		corrupt[i] ^= 0x5a
	}
	steps := []struct {
		name    string
		in      []byte
		want    []byte
		partial bool // close after 1000 bytes
		wantErr bool
	}{
		{"first", za, a, false, false},
		{"second, reused", zb, b, false, false},
		{"closed half-read", za, a, true, false},
		{"after a half-read layer", zb, b, false, false},
		{"corrupt", corrupt, nil, false, true},
		{"after a corrupt layer", za, a, false, false},
		{"window too large", zstdFrame(29, "tar"), nil, false, true},
		{"after a refused window", zb, b, false, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			rc, _, err := Decompress(bytes.NewReader(s.in), "application/vnd.oci.image.layer.v1.tar+zstd")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if s.partial {
				if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := io.ReadAll(rc)
			if s.wantErr {
				if err == nil {
					t.Fatalf("read %d bytes without an error", len(got))
				}
				return
			}
			if err != nil || !bytes.Equal(got, s.want) {
				t.Fatalf("got %d bytes (%v), want %d identical bytes", len(got), err, len(s.want))
			}
		})
	}
	rc, _, err := Decompress(bytes.NewReader(za), "")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	rc.Close()
	d1, d2 := zstdIdle.Get(), zstdIdle.Get()
	if d1 != nil && d1 == d2 {
		t.Errorf("a double Close handed the same decoder on twice")
	}
}
