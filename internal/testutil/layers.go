package testutil

import (
	"archive/tar"
	"bytes"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Entry describes one member of a synthetic tar layer. Type defaults to a
// regular file (tar.TypeReg); Mode defaults to 0644 for files and 0755 for
// directories when zero.
type Entry struct {
	Type     byte // tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, ...
	Name     string
	Linkname string
	Mode     int64
	UID, GID int
	Content  []byte
	Xattrs   map[string]string // written as PAX SCHILY.xattr.* records
	PAX      map[string]string // extra raw PAX records
	ModTime  time.Time
	DevMajor int64
	DevMinor int64
	Size     int64 // when non-zero, overrides len(Content) in the header (for malformed layers)
	// Format of the header: tar.FormatPAX when zero; tar.FormatGNU writes
	// long names and link names as GNU 'L'/'K' records.
	Format tar.Format
}

// File, Dir, Symlink and Hardlink are shorthands for common entries.
func File(name, content string) Entry {
	return Entry{Type: tar.TypeReg, Name: name, Content: []byte(content)}
}

// Dir is a directory entry.
func Dir(name string) Entry { return Entry{Type: tar.TypeDir, Name: name} }

// Symlink is a symbolic link entry.
func Symlink(name, target string) Entry {
	return Entry{Type: tar.TypeSymlink, Name: name, Linkname: target}
}

// Hardlink is a hard link entry.
func Hardlink(name, target string) Entry {
	return Entry{Type: tar.TypeLink, Name: name, Linkname: target}
}

// Layer builds an uncompressed tar stream (PAX format) from entries.
func Layer(t testing.TB, entries []Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := Header(e)
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("layer: header %q: %v", e.Name, err)
		}
		if h.Typeflag == tar.TypeReg && len(e.Content) > 0 {
			if _, err := tw.Write(e.Content); err != nil {
				t.Fatalf("layer: write %q: %v", e.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("layer: close: %v", err)
	}
	return buf.Bytes()
}

// Header converts an Entry to the tar header Layer writes.
func Header(e Entry) *tar.Header {
	typ := e.Type
	if typ == 0 {
		typ = tar.TypeReg
	}
	mode := e.Mode
	if mode == 0 {
		mode = 0o644
		if typ == tar.TypeDir {
			mode = 0o755
		} else if typ == tar.TypeSymlink {
			mode = 0o777
		}
	}
	mt := e.ModTime
	if mt.IsZero() {
		mt = time.Unix(1700000000, 0)
	}
	h := &tar.Header{
		Typeflag: typ, Name: e.Name, Linkname: e.Linkname, Mode: mode,
		Uid: e.UID, Gid: e.GID, ModTime: mt, Devmajor: e.DevMajor, Devminor: e.DevMinor,
		Format: tar.FormatPAX,
	}
	if e.Format != 0 {
		h.Format = e.Format
	}
	if typ == tar.TypeReg {
		h.Size = int64(len(e.Content))
	}
	if e.Size != 0 {
		h.Size = e.Size
	}
	if len(e.Xattrs) > 0 || len(e.PAX) > 0 {
		h.PAXRecords = map[string]string{}
		for k, v := range e.Xattrs {
			h.PAXRecords["SCHILY.xattr."+k] = v
		}
		for k, v := range e.PAX {
			h.PAXRecords[k] = v
		}
	}
	return h
}

// Gzip compresses b with gzip.
func Gzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return buf.Bytes()
}

// Zstd compresses b with zstd.
func Zstd(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatalf("zstd: %v", err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}
