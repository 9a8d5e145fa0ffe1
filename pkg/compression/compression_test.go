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
