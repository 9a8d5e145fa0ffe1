package inspect

import (
	"archive/tar"
	"path"
	"strings"
	"sync"
)

// Entry types, the values of Entry.Type.
const (
	TypeFile     = "file"
	TypeDir      = "dir"
	TypeSymlink  = "symlink"
	TypeHardlink = "hardlink"
	TypeChar     = "char"
	TypeBlock    = "block"
	TypeFifo     = "fifo"
	TypeWhiteout = "whiteout" // .wh.NAME: deletes NAME from lower layers
	TypeOpaque   = "opaque"   // .wh..wh..opq: hides what lower layers put in the directory
	TypeOther    = "other"
)

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// Entry is one entry of a layer, or one path of a merged tree.
type Entry struct {
	// Path is absolute and clean ("/etc/passwd"). For a whiteout it is the
	// path deleted; for an opaque marker, the directory made opaque.
	Path string `json:"path"`
	Type string `json:"type"`
	// Mode is the permission bits in octal, with setuid (4000), setgid
	// (2000) and sticky (1000): "0755", "4755".
	Mode string `json:"mode"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	// Size is the content size; for a hardlink, the size of its target.
	Size int64 `json:"size"`
	// LinkTarget is a symlink's target as stored, or a hardlink's target
	// as an absolute path.
	LinkTarget string `json:"link_target,omitempty"`
	// Digest is the sha256 of a regular file's (or hardlink target's) content.
	Digest string `json:"digest,omitempty"`
	// Layer is the index of the layer the entry comes from.
	Layer int `json:"layer"`

	perm    uint32 // permission bits including setuid/setgid/sticky
	hdrSize int64  // the tar header's size (0 for hardlinks)
}

// Setuid reports whether a regular file or hardlink carries setuid or setgid.
func (e *Entry) Setuid() bool {
	return (e.Type == TypeFile || e.Type == TypeHardlink) && e.perm&0o6000 != 0
}

func cleanPath(name string) string {
	return path.Clean("/" + name)
}

// entryFromHeader converts a tar header; it returns nil for entries that
// carry no path (the root directory, PAX global headers).
func entryFromHeader(h *tar.Header, layer int) *Entry {
	p := cleanPath(h.Name)
	if p == "/" || h.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	e := &Entry{
		Path:    p,
		UID:     h.Uid,
		GID:     h.Gid,
		Size:    h.Size,
		Layer:   layer,
		perm:    uint32(h.Mode) & 0o7777,
		hdrSize: h.Size,
	}
	dir, base := path.Split(p)
	switch {
	case base == opaqueMarker:
		e.Type, e.Path = TypeOpaque, cleanPath(dir)
		e.Size, e.hdrSize = 0, 0
		e.perm = 0
	case strings.HasPrefix(base, whiteoutPrefix):
		e.Type, e.Path = TypeWhiteout, cleanPath(dir+strings.TrimPrefix(base, whiteoutPrefix))
		e.Size, e.hdrSize = 0, 0
		e.perm = 0
	default:
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeGNUSparse:
			e.Type = TypeFile
		case tar.TypeDir:
			e.Type = TypeDir
		case tar.TypeSymlink:
			e.Type, e.LinkTarget = TypeSymlink, h.Linkname
		case tar.TypeLink:
			e.Type, e.LinkTarget = TypeHardlink, cleanPath(h.Linkname)
			e.Size, e.hdrSize = 0, 0
		case tar.TypeChar:
			e.Type = TypeChar
		case tar.TypeBlock:
			e.Type = TypeBlock
		case tar.TypeFifo:
			e.Type = TypeFifo
		default:
			e.Type = TypeOther
		}
		if e.Type != TypeFile {
			e.Size, e.hdrSize = 0, 0
		}
	}
	e.Mode = modeString(e.perm)
	return e
}

// modeDigits holds "0000" to "7777" back to back, so entries share their
// mode strings; built on first use, not at start-up (one 16 KiB string).
var modeDigits = sync.OnceValue(func() string {
	b := make([]byte, 0, 4*0o10000)
	for i := range 0o10000 {
		b = append(b, byte('0'+i>>9&7), byte('0'+i>>6&7), byte('0'+i>>3&7), byte('0'+i&7))
	}
	return string(b)
})

func modeString(perm uint32) string {
	i := int(perm&0o7777) * 4
	return modeDigits()[i : i+4]
}

// ModeString renders the entry's type and mode as ls does: "-rwsr-xr-x".
func (e *Entry) ModeString() string {
	t := byte('-')
	switch e.Type {
	case TypeDir:
		t = 'd'
	case TypeSymlink:
		t = 'l'
	case TypeChar:
		t = 'c'
	case TypeBlock:
		t = 'b'
	case TypeFifo:
		t = 'p'
	case TypeWhiteout:
		return "whiteout  "
	case TypeOpaque:
		return "opaque    "
	}
	b := []byte{t, '-', '-', '-', '-', '-', '-', '-', '-', '-'}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if e.perm&(1<<uint(8-i)) != 0 {
			b[i+1] = rwx[i]
		}
	}
	special := func(bit uint32, pos int, set, unset byte) {
		if e.perm&bit == 0 {
			return
		}
		if b[pos] == '-' {
			b[pos] = unset
		} else {
			b[pos] = set
		}
	}
	special(0o4000, 3, 's', 'S')
	special(0o2000, 6, 's', 'S')
	special(0o1000, 9, 't', 'T')
	return string(b)
}
