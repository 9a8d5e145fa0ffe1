// Command refwalk is the benchmark's reference for `ctr-lite inspect
// efficiency`: a plain Go program built on go-containerregistry that reads
// an image from a registry, walks every layer's tar stream in order and
// computes dive's efficiency figures (wasted bytes, score, largest wasted
// paths). With -extract it also walks the merged filesystem produced by
// ggcr's mutate.Extract (what `crane export` streams) and counts it.
//
//	refwalk [-extract] [-top 10] 127.0.0.1:5000/library/debian:bookworm
package main

import (
	"archive/tar"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	extract := flag.Bool("extract", false, "also walk the merged tree from mutate.Extract")
	top := flag.Int("top", 10, "largest wasted paths to print")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: refwalk [-extract] [-top N] IMAGE")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *extract, *top); err != nil {
		fmt.Fprintln(os.Stderr, "refwalk:", err)
		os.Exit(1)
	}
}

func run(ref string, extract bool, top int) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	img, err := remote.Image(r, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	if err != nil {
		return fmt.Errorf("fetch %s: %w", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	eff := newEfficiency()
	var total int64
	for i, l := range layers {
		entries, err := readLayer(l)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		for _, e := range entries {
			total += e.size
		}
		eff.add(entries)
	}
	score, wasted, matches := eff.result()
	fmt.Printf("layers: %d\nimage size: %d bytes\nwasted: %d bytes (%.2f%%)\nefficiency: %.4f\n",
		len(layers), total, wasted, 100*float64(wasted)/float64(max(total, 1)), score)
	for i, m := range matches {
		if i == top {
			break
		}
		fmt.Printf("%12d  %2d×  %s\n", m.cumulative, m.count, m.path)
	}
	if extract {
		files, size, err := walkMerged(img)
		if err != nil {
			return err
		}
		fmt.Printf("merged tree (mutate.Extract): %d entries, %d bytes\n", files, size)
	}
	return nil
}

// entry is one tar entry of a layer, with whiteout names already resolved
// to the path they delete.
type entry struct {
	path     string
	size     int64
	dir      bool
	whiteout bool
}

func readLayer(l v1.Layer) ([]entry, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		p := path.Clean("/" + h.Name)
		dir, base := path.Split(p)
		e := entry{path: p, size: h.Size, dir: h.Typeflag == tar.TypeDir}
		if h.Typeflag == tar.TypeLink || h.Typeflag == tar.TypeSymlink || e.dir {
			e.size = 0
		}
		// As dive does, any .wh. prefix marks a whiteout of the stripped
		// name; the opaque marker thus names ".wh..opq", which no lower
		// layer has, so opaque directories count nothing as wasted.
		if strings.HasPrefix(base, ".wh.") {
			e.whiteout, e.path, e.size = true, path.Join(dir, strings.TrimPrefix(base, ".wh.")), 0
		}
		out = append(out, e)
	}
}

func walkMerged(img v1.Image) (files int, size int64, err error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		_, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, size, nil
		}
		if err != nil {
			return files, size, fmt.Errorf("walk merged tree: %w", err)
		}
		files++
		n, err := io.Copy(io.Discard, tr)
		if err != nil {
			return files, size, err
		}
		size += n
	}
}

// efficiency follows dive's filetree.Efficiency: every leaf path of every
// layer is a discovery with a size (a whiteout of a directory counts the
// size of what it deletes); a path discovered more than once wastes its
// cumulative size; the score is the sum of each path's smallest discovery
// over the sum of all discoveries.
type efficiency struct {
	paths  map[string]*pathData
	merged map[string]entry // the layers so far, stacked
}

type pathData struct {
	path       string
	cumulative int64
	min        int64
	count      int
}

func newEfficiency() *efficiency {
	return &efficiency{paths: map[string]*pathData{}, merged: map[string]entry{}}
}

func (e *efficiency) add(entries []entry) {
	parents := map[string]bool{}
	for _, en := range entries {
		for d := path.Dir(en.path); ; d = path.Dir(d) {
			if parents[d] {
				break
			}
			parents[d] = true
			if d == "/" {
				break
			}
		}
	}
	for _, en := range entries {
		if parents[en.path] { // not a leaf
			continue
		}
		size := en.size
		if en.whiteout {
			if prev, ok := e.merged[en.path]; ok && prev.dir {
				size = e.subtreeSize(en.path)
			}
		}
		d := e.paths[en.path]
		if d == nil {
			d = &pathData{path: en.path, min: -1}
			e.paths[en.path] = d
		}
		d.cumulative += size
		if d.min < 0 || size < d.min {
			d.min = size
		}
		d.count++
	}
	for _, en := range entries {
		if en.whiteout {
			e.remove(en.path)
			continue
		}
		e.merged[en.path] = en
	}
}

func (e *efficiency) subtreeSize(dir string) int64 {
	var n int64
	prefix := dir + "/"
	for p, en := range e.merged {
		if strings.HasPrefix(p, prefix) {
			n += en.size
		}
	}
	return n
}

func (e *efficiency) remove(p string) {
	delete(e.merged, p)
	prefix := p + "/"
	for q := range e.merged {
		if strings.HasPrefix(q, prefix) {
			delete(e.merged, q)
		}
	}
}

func (e *efficiency) result() (score float64, wasted int64, matches []*pathData) {
	var minSum, allSum int64
	for _, d := range e.paths {
		minSum += d.min
		allSum += d.cumulative
		if d.count > 1 {
			wasted += d.cumulative
			matches = append(matches, d)
		}
	}
	sort.Slice(matches, func(i, j int) bool {
		if matches[i].cumulative != matches[j].cumulative {
			return matches[i].cumulative > matches[j].cumulative
		}
		return matches[i].path < matches[j].path
	})
	score = 1
	if allSum > 0 {
		score = float64(minSum) / float64(allSum)
	}
	return score, wasted, matches
}
