package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// shape is one generated image: its layers at scale 1.
type shape struct {
	name  string
	specs []layerSpec
	key   string // added to the cache key: the busybox binary's digest
}

func largeShape() shape { return shape{name: "large", specs: specs} }

// shapeByName returns the image a -shape flag names:
//
//	large     the 6-layer image (default; see specs)
//	small     one layer of 300,000 tiny files (0-2 KB) at scale 1
//	big       one layer holding one 1.5 GB incompressible file at scale 1
//	layers:N  N layers: busybox (bin/busybox, bin/sh, bin/true), then N-1
//	          layers of one small file each; runnable, and not scaled
func shapeByName(name, busybox string) (shape, error) {
	switch {
	case name == "large":
		return largeShape(), nil
	case name == "small":
		return shape{name: name, specs: []layerSpec{{tiny: 300000}}}, nil
	case name == "big":
		return shape{name: name, specs: []layerSpec{{oneFileMB: 1500}}}, nil
	case strings.HasPrefix(name, "layers:"):
		n, err := strconv.Atoi(strings.TrimPrefix(name, "layers:"))
		if err != nil || n < 1 || n > 1000 {
			return shape{}, fmt.Errorf("shape %s: want layers:N with N from 1 to 1000", name)
		}
		key, err := fileKey(busybox)
		if err != nil {
			return shape{}, fmt.Errorf("shape %s: busybox: %w", name, err)
		}
		sp := []layerSpec{{busybox: busybox, fixed: true}}
		for len(sp) < n {
			sp = append(sp, layerSpec{small: 1, fixed: true})
		}
		return shape{name: fmt.Sprintf("layers%d", n), specs: sp, key: "-bb" + key}, nil
	}
	return shape{}, fmt.Errorf("unknown shape %q (large, small, big, layers:N)", name)
}

// fileKey is the first 12 hex digits of the file's sha256.
func fileKey(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}
