package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// source is a read-only tree of files: a tarball or a directory.
type source interface {
	// open returns the regular file at name (slash-separated, relative).
	open(name string) (io.ReadSeeker, int64, error)
	close() error
}

// entry is a tar member; for regular files off is where its data starts.
type entry struct {
	typ  byte
	off  int64
	size int64
	link string
}

// tarSource reads members of an uncompressed tarball in place: one pass
// records every member's offset, then files are read as sections.
type tarSource struct {
	f       *os.File
	entries map[string]entry
}

func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

func openTar(f *os.File) (*tarSource, error) {
	ts := &tarSource{f: f, entries: map[string]entry{}}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read tar: %w", err)
		}
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		ts.entries[cleanName(hdr.Name)] = entry{typ: hdr.Typeflag, off: off, size: hdr.Size, link: hdr.Linkname}
	}
	if len(ts.entries) == 0 {
		return nil, fmt.Errorf("read tar: empty archive")
	}
	return ts, nil
}

// resolve follows symlinks (relative to the link's directory, anchored at
// the archive root) and hard links, to a regular file.
func (ts *tarSource) resolve(name string) (entry, error) {
	name = cleanName(name)
	for hops := 0; hops < 16; hops++ {
		e, ok := ts.entries[name]
		if !ok {
			return entry{}, fmt.Errorf("%s: %w", name, ErrMissingFile)
		}
		switch e.typ {
		case tar.TypeReg:
			return e, nil
		case tar.TypeSymlink:
			if path.IsAbs(e.link) {
				name = cleanName(e.link)
			} else {
				name = cleanName(path.Join(path.Dir(name), e.link))
			}
		case tar.TypeLink:
			name = cleanName(e.link)
		default:
			return entry{}, fmt.Errorf("%s: not a regular file in the archive", name)
		}
	}
	return entry{}, fmt.Errorf("%s: too many links", name)
}

func (ts *tarSource) open(name string) (io.ReadSeeker, int64, error) {
	e, err := ts.resolve(name)
	if err != nil {
		return nil, 0, err
	}
	return io.NewSectionReader(ts.f, e.off, e.size), e.size, nil
}

func (ts *tarSource) close() error { return ts.f.Close() }

// dirSource reads an OCI layout directory; os.Root keeps symlinks inside it.
type dirSource struct {
	root  *os.Root
	files []*os.File
}

func openDir(dir string) (*dirSource, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &dirSource{root: r}, nil
}

func (d *dirSource) open(name string) (io.ReadSeeker, int64, error) {
	f, err := d.root.Open(cleanName(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, fmt.Errorf("%s: %w", name, ErrMissingFile)
		}
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s: not a regular file", name)
	}
	d.files = append(d.files, f)
	return f, fi.Size(), nil
}

func (d *dirSource) close() error {
	for _, f := range d.files {
		f.Close()
	}
	return d.root.Close()
}

// readSmall reads a whole small file from src, refusing more than max bytes.
func readSmall(src source, name string, max int64) ([]byte, error) {
	r, size, err := src.open(name)
	if err != nil {
		return nil, err
	}
	if size > max {
		return nil, fmt.Errorf("%s: %d bytes, limit %d", name, size, max)
	}
	return io.ReadAll(io.LimitReader(r, max))
}
