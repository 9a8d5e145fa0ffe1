package main

import (
	"fmt"
	"math"
)

// layerSpec says what one generated layer holds at scale 1.
type layerSpec struct {
	small  int     // small text files (256 B .. 6 KB)
	tiny   int     // tiny text files (0 .. 2 KB), 1,000 to a directory
	textMB float64 // compressible text, in files of up to 8 MB
	randMB float64 // incompressible bytes, in files of up to 8 MB
	// oneFileMB is one file of incompressible bytes, however large.
	oneFileMB float64
	// fixed: the counts do not scale (one-file layers stay one file).
	fixed bool
	// busybox is a host busybox binary written as bin/busybox, with
	// bin/sh and bin/true linked to it, so the image runs.
	busybox string
	// extra adds the layer's overwrites, deletions and links after the
	// regular content.
	extra func(w *layerWriter, s scaled) error
}

// scaled is a spec with the scale applied.
type scaled struct {
	index     int // 1-based layer number
	small     int
	tiny      int
	textBytes int64
	randBytes int64
	oneFile   int64
}

const (
	chunk        = 8 << 20
	layer1RandMB = 25   // layer 3 overwrites its first file
	layer2Small  = 8000 // layer 5 overwrites an eighth of them
)

// specs is the large image. Totals at scale 1: 30,000 small files,
// 395 MB of text, 115 MB of random data (gzip: ~300 MB).
var specs = []layerSpec{
	{small: 8000, textMB: 75, randMB: layer1RandMB},
	{small: layer2Small, textMB: 65, randMB: 30},
	{small: 2000, textMB: 70, randMB: 5, extra: layer3},
	{small: 6000, textMB: 75, randMB: 20},
	{small: 4000, textMB: 55, randMB: 15, extra: layer5},
	{small: 2000, textMB: 55, randMB: 20, extra: layer6},
}

func scale(i int, sp layerSpec, f float64) scaled {
	if sp.fixed {
		f = 1
	}
	return scaled{
		index:     i + 1,
		small:     int(math.Round(float64(sp.small) * f)),
		tiny:      int(math.Round(float64(sp.tiny) * f)),
		textBytes: int64(sp.textMB * f * 1e6),
		randBytes: int64(sp.randMB * f * 1e6),
		oneFile:   int64(sp.oneFileMB * f * 1e6),
	}
}

// Paths of generated files, shared by the layers that overwrite or delete
// them.
func smallPath(layer, i int) string {
	if layer == 2 && i%10 == 0 {
		return fmt.Sprintf("var/cache/app/f%05d.txt", i)
	}
	return fmt.Sprintf("usr/share/bench/l%d/d%02d/f%05d.txt", layer, i%50, i)
}
func textPath(layer, i int) string { return fmt.Sprintf("opt/text/l%d-%02d.txt", layer, i) }
func randPath(layer, i int) string { return fmt.Sprintf("opt/blob/l%d-%02d.bin", layer, i) }

// regular writes the spec's small files, text and random data.
func regular(w *layerWriter, s scaled) error {
	for i := 0; i < s.tiny; i++ {
		if err := w.text(fmt.Sprintf("usr/share/tiny/d%03d/f%06d.txt", i/1000, i), int64(w.rng.IntN(2049))); err != nil {
			return err
		}
	}
	if s.oneFile > 0 {
		if err := w.random("opt/big.bin", s.oneFile); err != nil {
			return err
		}
	}
	for i := 0; i < s.small; i++ {
		if err := w.text(smallPath(s.index, i), int64(256+w.rng.IntN(5800))); err != nil {
			return err
		}
	}
	for i, left := 0, s.textBytes; left > 0; i++ {
		n := min(left, chunk)
		if err := w.text(textPath(s.index, i), n); err != nil {
			return err
		}
		left -= n
	}
	for i, left := 0, s.randBytes; left > 0; i++ {
		n := min(left, chunk)
		if err := w.random(randPath(s.index, i), n); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// layer3 deletes a random-data file of layer 2 and a directory of small
// files of layer 1, and overwrites the first random-data file of layer 1.
func layer3(w *layerWriter, _ scaled) error {
	if err := w.whiteout(randPath(2, 0)); err != nil {
		return err
	}
	if err := w.whiteout("usr/share/bench/l1/d07"); err != nil {
		return err
	}
	first := min(int64(layer1RandMB*w.scale*1e6), chunk)
	return w.random(randPath(1, 0), first)
}

// layer5 makes var/cache/app (filled by layer 2) opaque and refills it,
// and overwrites an eighth of layer 2's small files.
func layer5(w *layerWriter, s scaled) error {
	if err := w.opaque("var/cache/app"); err != nil {
		return err
	}
	for i := 0; i < max(1, s.small/20); i++ {
		if err := w.text(fmt.Sprintf("var/cache/app/new%05d.txt", i), int64(512+w.rng.IntN(2048))); err != nil {
			return err
		}
	}
	n2 := int(math.Round(layer2Small * w.scale))
	for i := 0; i < n2/8; i++ {
		if i%10 == 0 {
			continue
		}
		if err := w.text(smallPath(2, i), int64(256+w.rng.IntN(5800))); err != nil {
			return err
		}
	}
	return nil
}

// layer6 deletes a text file and a small-file directory of layer 4 and
// adds a hardlink and a symlink.
func layer6(w *layerWriter, _ scaled) error {
	if err := w.whiteout(textPath(4, 0)); err != nil {
		return err
	}
	if err := w.whiteout("usr/share/bench/l4/d03"); err != nil {
		return err
	}
	if err := w.text("usr/lib/app.so.1", 200000); err != nil {
		return err
	}
	if err := w.hardlink("usr/lib/app-hardlink.so.1", "usr/lib/app.so.1"); err != nil {
		return err
	}
	return w.symlink("usr/lib/app.so", "app.so.1")
}
