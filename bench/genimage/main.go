// Command genimage generates the benchmark's large image from a seed and
// pushes it to a registry twice: once with gzip layers, once with zstd
// layers. The compressed layer blobs are cached under -cache keyed by the
// seed and scale, so a rerun only pushes.
//
//	genimage -seed 1 -scale 1 -cache bench/results/cache \
//	    -gzip 127.0.0.1:5000/bench/large:gzip -zstd 127.0.0.1:5000/bench/large:zstd
//
// At -scale 1 the image has 6 layers, about 600 MB uncompressed and 300 MB
// as gzip: incompressible data, compressible text and 30,000 small files;
// later layers overwrite and delete files of earlier ones (whiteouts of a
// file and of a directory, and an opaque directory).
//
// -shape makes the other images of the lab (issue 17) instead: "small"
// (one layer of 300,000 files of 0-2 KB), "big" (one 1.5 GB file),
// "layers:N" (the host's static busybox, then N-1 one-file layers; not
// scaled). They are cached the same way, under their own names.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	seed := flag.Uint64("seed", 1, "seed of the generated content")
	scale := flag.Float64("scale", 1, "size factor (1: ~600 MB uncompressed; 0.1: ~60 MB)")
	cache := flag.String("cache", "bench/results/cache", "directory for the generated layer blobs")
	gz := flag.String("gzip", "", "reference to push the gzip variant to")
	zs := flag.String("zstd", "", "reference to push the zstd variant to")
	workers := flag.Int("workers", 2, "layers generated at once")
	shapeName := flag.String("shape", "large", "image to make: large, small (300k tiny files), big (one 1.5 GB file), layers:N (busybox + N-1 one-file layers)")
	busybox := flag.String("busybox", "/bin/busybox", "static busybox binary for the layers:N images")
	flag.Parse()
	if *scale <= 0 || *scale > 4 {
		fmt.Fprintln(os.Stderr, "genimage: -scale must be in (0, 4]")
		os.Exit(2)
	}
	sh, err := shapeByName(*shapeName, *busybox)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genimage:", err)
		os.Exit(2)
	}
	if err := run(context.Background(), sh, *seed, *scale, *cache, *gz, *zs, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "genimage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, sh shape, seed uint64, scale float64, cache, gzRef, zsRef string, workers int) error {
	start := time.Now()
	set, cached, err := loadOrGenerate(ctx, sh, seed, scale, cache, workers)
	if err != nil {
		return err
	}
	how := "generated"
	if cached {
		how = "cached"
	}
	fmt.Fprintf(os.Stderr, "genimage: %s: %d layers %s in %s: %s uncompressed, %s gzip, %s zstd, %d entries\n",
		sh.name, len(set.Layers), how, time.Since(start).Round(time.Millisecond),
		mb(set.total(func(l layerMeta) int64 { return l.RawSize })),
		mb(set.total(func(l layerMeta) int64 { return l.Gzip.Size })),
		mb(set.total(func(l layerMeta) int64 { return l.Zstd.Size })),
		set.total(func(l layerMeta) int64 { return l.Entries }))
	for _, p := range []struct {
		ref  string
		zstd bool
	}{{gzRef, false}, {zsRef, true}} {
		if p.ref == "" {
			continue
		}
		d, err := push(ctx, set, p.zstd, p.ref)
		if err != nil {
			return err
		}
		fmt.Printf("%s@%s\n", p.ref, d)
	}
	return nil
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
