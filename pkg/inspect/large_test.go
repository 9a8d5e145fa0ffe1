package inspect

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// genSource is a large image generated on the fly, never held in memory
// or on disk: each OpenLayer writes the layer's tar stream into a pipe.
// Layer i has files/layers files of size bytes each under /d<i%7>/, and
// every layer after the first overwrites the first 1000 files of layer 0
// and deletes one directory of it.
type genSource struct {
	layers, files, size int
	manifest            ocispec.Manifest
	config              ocispec.Image
}

func newGenSource(tb testing.TB, layers, files, size int) *genSource {
	g := &genSource{layers: layers, files: files, size: size}
	g.config.RootFS.Type = "layers"
	for i := 0; i < layers; i++ {
		h := sha256.New()
		n, err := io.Copy(h, g.stream(i))
		if err != nil {
			tb.Fatal(err)
		}
		d := digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil))
		g.config.RootFS.DiffIDs = append(g.config.RootFS.DiffIDs, d)
		g.manifest.Layers = append(g.manifest.Layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: d, Size: n})
	}
	return g
}

func (g *genSource) stream(i int) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		buf := make([]byte, g.size)
		write := func(h *tar.Header, content bool) error {
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if content {
				_, err := tw.Write(buf)
				return err
			}
			return nil
		}
		var err error
		if i > 0 {
			err = write(&tar.Header{Name: fmt.Sprintf("d%d/.wh.sub%d", i%7, i), Typeflag: tar.TypeReg}, false)
			for f := 0; f < 1000 && err == nil; f++ {
				buf[0] = byte(f + i)
				err = write(&tar.Header{Name: fmt.Sprintf("d0/sub%d/f%d", f%50, f), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(g.size)}, true)
			}
		}
		for f := 0; f < g.files && err == nil; f++ {
			buf[0], buf[len(buf)-1] = byte(f), byte(i)
			err = write(&tar.Header{Name: fmt.Sprintf("d%d/sub%d/f%d", i%7, f%50, f), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(g.size)}, true)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

func (g *genSource) Manifest() ocispec.Manifest    { return g.manifest }
func (g *genSource) ManifestDigest() digest.Digest { return digest.FromString("generated") }
func (g *genSource) RawManifest() []byte           { b, _ := json.Marshal(g.manifest); return b }
func (g *genSource) Config() ocispec.Image         { return g.config }
func (g *genSource) RawConfig() []byte             { b, _ := json.Marshal(g.config); return b }
func (g *genSource) OpenLayer(_ context.Context, i int) (io.ReadCloser, error) {
	return g.stream(i), nil
}

// BenchmarkEfficiencyLarge runs efficiency over a generated image of 4
// uncompressed layers, 1 GiB and 104,000 files in all (run it under
// /usr/bin/time -v to see the peak RSS: the layers are streamed, only the
// headers stay in memory).
func BenchmarkEfficiencyLarge(b *testing.B) {
	if testing.Short() {
		b.Skip("1 GiB of generated layers")
	}
	src := newGenSource(b, 4, 25000, 10<<10)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(4 * 25000 * 10 << 10)
	for b.Loop() {
		rep, err := Efficiency(ctx, src)
		if err != nil {
			b.Fatal(err)
		}
		if rep.WastedBytes == 0 {
			b.Fatal("the generated image wastes bytes")
		}
	}
}
