package main

import (
	"archive/tar"
	"math/rand/v2"
	"os"
	"path"
	"strings"
	"time"
)

// mtime is every entry's modification time, so output is reproducible.
var mtime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// layerWriter writes one layer's tar stream with content drawn from a
// seeded generator.
type layerWriter struct {
	tw      *tar.Writer
	rng     *rand.Rand
	bytes   *rand.ChaCha8
	scale   float64
	dirs    map[string]bool
	entries int64
	buf     []byte
}

func newLayerWriter(tw *tar.Writer, seed uint64, index int, f float64) *layerWriter {
	var key [32]byte
	for i := 0; i < 8; i++ {
		key[i] = byte(seed >> (8 * i))
	}
	key[8] = byte(index)
	return &layerWriter{
		tw:    tw,
		rng:   rand.New(rand.NewPCG(seed, uint64(index))),
		bytes: rand.NewChaCha8(key),
		scale: f,
		dirs:  map[string]bool{},
		buf:   make([]byte, 1<<20),
	}
}

// mkdirAll writes directory entries for dir and its missing parents.
func (w *layerWriter) mkdirAll(dir string) error {
	if dir == "." || dir == "" || w.dirs[dir] {
		return nil
	}
	if err := w.mkdirAll(path.Dir(dir)); err != nil {
		return err
	}
	w.dirs[dir] = true
	return w.header(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755})
}

func (w *layerWriter) header(h *tar.Header) error {
	h.ModTime = mtime
	h.Format = tar.FormatPAX
	if h.Mode == 0 {
		h.Mode = 0o644
	}
	w.entries++
	return w.tw.WriteHeader(h)
}

func (w *layerWriter) file(name string, size int64, fill func([]byte)) error {
	if err := w.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	if err := w.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size}); err != nil {
		return err
	}
	for size > 0 {
		b := w.buf[:min(size, int64(len(w.buf)))]
		fill(b)
		if _, err := w.tw.Write(b); err != nil {
			return err
		}
		size -= int64(len(b))
	}
	return nil
}

// random writes a file of incompressible bytes.
func (w *layerWriter) random(name string, size int64) error {
	return w.file(name, size, func(b []byte) { _, _ = w.bytes.Read(b) })
}

// text writes a file of words from a small vocabulary, which compresses
// about 3:1 with gzip.
func (w *layerWriter) text(name string, size int64) error {
	return w.file(name, size, w.fillText)
}

func (w *layerWriter) fillText(b []byte) {
	i, col := 0, 0
	for i < len(b) {
		// Skewed choice: frequent words come first, as in prose.
		f := w.rng.Float64()
		word := vocab[int(f*f*f*float64(len(vocab)))]
		for j := 0; j < len(word) && i < len(b); j++ {
			b[i] = word[j]
			i++
		}
		col += len(word) + 1
		if i < len(b) {
			if col > 72 {
				b[i], col = '\n', 0
			} else {
				b[i] = ' '
			}
			i++
		}
	}
}

// busybox writes the host binary src as bin/busybox (mode 0755) with
// bin/sh and bin/true as symlinks to it.
func (w *layerWriter) busybox(src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := w.mkdirAll("bin"); err != nil {
		return err
	}
	if err := w.header(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Size: int64(len(b)), Mode: 0o755}); err != nil {
		return err
	}
	if _, err := w.tw.Write(b); err != nil {
		return err
	}
	for _, applet := range []string{"sh", "true"} {
		if err := w.symlink("bin/"+applet, "busybox"); err != nil {
			return err
		}
	}
	return nil
}

// whiteout deletes name (file or directory) of a lower layer.
func (w *layerWriter) whiteout(name string) error {
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if err := w.mkdirAll(dir); err != nil {
		return err
	}
	return w.header(&tar.Header{Typeflag: tar.TypeReg, Name: path.Join(dir, ".wh."+base)})
}

// opaque hides what lower layers put in dir.
func (w *layerWriter) opaque(dir string) error {
	if err := w.mkdirAll(dir); err != nil {
		return err
	}
	return w.header(&tar.Header{Typeflag: tar.TypeReg, Name: path.Join(dir, ".wh..wh..opq")})
}

func (w *layerWriter) hardlink(name, target string) error {
	if err := w.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	return w.header(&tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target})
}

func (w *layerWriter) symlink(name, target string) error {
	if err := w.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	return w.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
}

// vocab is built once from a fixed generator: 2,000 lowercase words.
var vocab = func() []string {
	r := rand.New(rand.NewPCG(42, 42))
	out := make([]string, 2000)
	for i := range out {
		n := 2 + r.IntN(9)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		out[i] = string(b)
	}
	return out
}()
