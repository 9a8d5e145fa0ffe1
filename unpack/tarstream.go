package unpack

import (
	"archive/tar"
	"bytes"
	"io"
	"time"
)

// tarReader reads a tar stream as archive/tar does. Plain ustar and GNU
// headers (the most of any layer) it parses itself, without allocating;
// anything else (PAX and GNU long-name headers, sparse files, base-256
// numbers, V7 and star headers, a checksum only a signed sum matches, the
// end of the archive) goes to an archive/tar.Reader started at that
// header, which then keeps the stream for as long as its entries need it
// (a sparse file's content). FuzzTarReader holds both to the same headers,
// contents and errors.
type tarReader struct {
	pf   *prefetcher // the source's chunks are read in place
	src  io.Reader   // or a plain source, read through own
	own  []byte
	buf  []byte // unread bytes of the current chunk
	err  error  // the source's error, once buf is empty
	left int64  // content of the current entry not read
	pad  int64  // padding after it
	tr   *tar.Reader
	hdr  tar.Header // the last plain header (reused)
	blk  [blockSize]byte
	body bodyReader
}

const blockSize = 512

func newTarReader(r io.Reader) *tarReader {
	t := &tarReader{}
	if pf, ok := r.(*prefetcher); ok {
		t.pf = pf
	} else {
		t.src, t.own = r, make([]byte, 64<<10)
	}
	t.body.t = t
	return t
}

// fill makes buf non-empty, or returns the source's error.
func (t *tarReader) fill() error {
	for len(t.buf) == 0 {
		if t.err != nil {
			return t.err
		}
		if t.pf != nil {
			t.buf, t.err = t.pf.next()
		} else {
			var n int
			n, t.err = t.src.Read(t.own)
			t.buf = t.own[:n]
		}
	}
	return nil
}

// Read reads the raw stream (archive/tar reads through it).
func (t *tarReader) Read(p []byte) (int, error) {
	if err := t.fill(); err != nil {
		return 0, err
	}
	n := copy(p, t.buf)
	t.buf = t.buf[n:]
	return n, nil
}

// skip discards n bytes; it returns io.EOF when the stream ends first.
func (t *tarReader) skip(n int64) error {
	for n > 0 {
		if err := t.fill(); err != nil {
			return err
		}
		m := min(n, int64(len(t.buf)))
		t.buf = t.buf[m:]
		n -= m
	}
	return nil
}

// Body reads the current entry's content.
func (t *tarReader) Body() io.Reader {
	if t.tr != nil {
		return t.tr
	}
	return &t.body
}

type bodyReader struct{ t *tarReader }

func (b *bodyReader) Read(p []byte) (int, error) {
	t := b.t
	if t.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > t.left {
		p = p[:t.left]
	}
	if err := t.fill(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	n := copy(p, t.buf)
	t.buf = t.buf[n:]
	t.left -= int64(n)
	return n, nil
}

// Next returns the next entry's header, valid until the next call.
func (t *tarReader) Next() (*tar.Header, error) {
	if t.tr != nil {
		hdr, err := t.tr.Next()
		if err != nil {
			return nil, err
		}
		t.release(hdr)
		return hdr, nil
	}
	// The rest of the entry, then its padding, as archive/tar skips them.
	if err := t.skip(t.left); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	t.left = 0
	if err := t.skip(t.pad); err != nil {
		return nil, err // io.EOF too: archive/tar ends there
	}
	t.pad = 0
	if _, err := io.ReadFull(t, t.blk[:]); err != nil {
		return nil, err
	}
	if hdr, ok := t.plain(); ok {
		return hdr, nil
	}
	blk := t.blk
	t.tr = tar.NewReader(io.MultiReader(bytes.NewReader(blk[:]), t))
	hdr, err := t.tr.Next()
	if err != nil {
		return nil, err
	}
	t.release(hdr)
	return hdr, nil
}

// release takes the stream back from archive/tar after hdr, unless its
// content is one archive/tar must read (sparse, a global header's).
func (t *tarReader) release(hdr *tar.Header) {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo, tar.TypeCont:
	default:
		return
	}
	for k := range hdr.PAXRecords {
		if len(k) > 11 && k[:11] == "GNU.sparse." {
			return
		}
	}
	// archive/tar stopped at the start of the content.
	t.tr = nil
	t.left = contentSize(hdr.Typeflag, hdr.Size)
	t.pad = -t.left & (blockSize - 1)
}

func contentSize(flag byte, size int64) int64 {
	switch flag {
	case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo:
		return 0
	}
	return size
}

// plain parses t.blk when it is a ustar or GNU header archive/tar would
// read the same way with nothing else to look at.
func (t *tarReader) plain() (*tar.Header, bool) {
	b := &t.blk
	sum, ok := octal(b[148:156])
	if !ok {
		return nil, false
	}
	u := int64(8 * ' ')
	for _, c := range b[:148] {
		u += int64(c)
	}
	for _, c := range b[156:] {
		u += int64(c)
	}
	if sum != u {
		return nil, false // zeros (the end), or a signed sum: archive/tar
	}
	gnu := false
	switch {
	case string(b[257:263]) == "ustar\x00" && string(b[508:512]) != "tar\x00":
	case string(b[257:263]) == "ustar " && string(b[263:265]) == " \x00":
		gnu = true
	default:
		return nil, false
	}
	flag := b[156]
	switch flag {
	case tar.TypeReg, 0, tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo:
	default:
		return nil, false
	}
	size, ok1 := octal(b[124:136])
	mode, ok2 := octal(b[100:108])
	uid, ok3 := octal(b[108:116])
	gid, ok4 := octal(b[116:124])
	mtime, ok5 := octal(b[136:148])
	major, ok6 := octal(b[329:337])
	minor, ok7 := octal(b[337:345])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return nil, false
	}
	h := &t.hdr
	*h = tar.Header{Typeflag: flag, Size: size, Mode: mode, Uid: int(uid), Gid: int(gid),
		ModTime: time.Unix(mtime, 0), Devmajor: major, Devminor: minor}
	name := cstring(b[:100])
	if gnu {
		h.Format = tar.FormatGNU
		if b[345] != 0 {
			at, ok := octal(b[345:357])
			if !ok {
				return nil, false
			}
			h.AccessTime = time.Unix(at, 0)
		}
		if b[357] != 0 {
			ct, ok := octal(b[357:369])
			if !ok {
				return nil, false
			}
			h.ChangeTime = time.Unix(ct, 0)
		}
		h.Name = string(name)
	} else {
		h.Format = tar.FormatUSTAR
		if prefix := cstring(b[345:500]); len(prefix) > 0 {
			h.Name = string(prefix) + "/" + string(name)
		} else {
			h.Name = string(name)
		}
	}
	if l := cstring(b[157:257]); len(l) > 0 {
		h.Linkname = string(l)
	}
	if flag == 0 {
		h.Typeflag = tar.TypeReg
		if len(h.Name) > 0 && h.Name[len(h.Name)-1] == '/' {
			h.Typeflag = tar.TypeDir // legacy archives mark directories so
		}
	}
	t.left = contentSize(h.Typeflag, size)
	t.pad = -t.left & (blockSize - 1)
	return h, true
}

// cstring is b up to its first NUL.
func cstring(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// octal parses a numeric field as archive/tar does when it is octal
// (spaces and NULs around, the digits up to a NUL); ok is false for
// base-256 and for anything archive/tar would refuse.
func octal(b []byte) (int64, bool) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		return 0, false
	}
	i, j := 0, len(b)
	for i < j && (b[i] == ' ' || b[i] == 0) {
		i++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == 0) {
		j--
	}
	var x int64
	for _, c := range b[i:j] {
		if c == 0 {
			break
		}
		if c < '0' || c > '7' {
			return 0, false
		}
		x = x<<3 | int64(c-'0')
	}
	return x, true
}
