package inspect

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/units"
)

// LayerInfo is one row of the layer table.
type LayerInfo struct {
	Index            int    `json:"index"`
	Digest           string `json:"digest"`
	DiffID           string `json:"diff_id"`
	MediaType        string `json:"media_type"`
	CompressedSize   int64  `json:"compressed_size"`
	UncompressedSize int64  `json:"uncompressed_size"`
	// FileCount counts the layer's tar entries of every type (directories
	// and links included) except whiteout and opaque markers.
	FileCount int `json:"file_count"`
	// Whiteouts counts whiteout and opaque markers.
	Whiteouts int    `json:"whiteouts"`
	CreatedBy string `json:"created_by"`
}

// LayersReport is `inspect layers`.
type LayersReport struct {
	ManifestDigest string      `json:"manifest_digest"`
	Layers         []LayerInfo `json:"layers"`
	Total          LayerTotals `json:"total"`
}

// LayerTotals sums the layer table.
type LayerTotals struct {
	Layers           int   `json:"layers"`
	CompressedSize   int64 `json:"compressed_size"`
	UncompressedSize int64 `json:"uncompressed_size"`
	FileCount        int   `json:"file_count"`
	Whiteouts        int   `json:"whiteouts"`
}

// Layers streams every layer (in parallel), verifies each blob against
// the manifest and each diffID against the config, and returns the table.
func Layers(ctx context.Context, src Source) (LayersReport, error) {
	scans, err := scanAll(ctx, src)
	if err != nil {
		return LayersReport{}, fmt.Errorf("inspect layers: %w", err)
	}
	return layersReport(src, scans), nil
}

func layersReport(src Source, scans []*layerScan) LayersReport {
	m := src.Manifest()
	created := layerHistory(src)
	rep := LayersReport{ManifestDigest: src.ManifestDigest().String(), Layers: []LayerInfo{}}
	for i, s := range scans {
		li := LayerInfo{
			Index:            i,
			Digest:           m.Layers[i].Digest.String(),
			DiffID:           s.diffID.String(),
			MediaType:        m.Layers[i].MediaType,
			CompressedSize:   s.compressed,
			UncompressedSize: s.uncompressed,
			CreatedBy:        created[i],
		}
		for _, e := range s.entries {
			if e.Type == TypeWhiteout || e.Type == TypeOpaque {
				li.Whiteouts++
			} else {
				li.FileCount++
			}
		}
		rep.Layers = append(rep.Layers, li)
		rep.Total.Layers++
		rep.Total.CompressedSize += li.CompressedSize
		rep.Total.UncompressedSize += li.UncompressedSize
		rep.Total.FileCount += li.FileCount
		rep.Total.Whiteouts += li.Whiteouts
	}
	return rep
}

// layerHistory maps each layer to the created_by of its history entry:
// history entries with empty_layer set are skipped, the others match the
// layers in order. Layers without an entry get "".
func layerHistory(src Source) []string {
	out := make([]string, len(src.Manifest().Layers))
	i := 0
	for _, h := range src.Config().History {
		if h.EmptyLayer {
			continue
		}
		if i >= len(out) {
			break
		}
		out[i] = h.CreatedBy
		i++
	}
	return out
}

// WriteLayersTable prints the layer table with a totals row.
func WriteLayersTable(w io.Writer, rep LayersReport) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "#\tDIGEST\tMEDIA TYPE\tCOMPRESSED\tUNCOMPRESSED\tFILES\tWHITEOUTS\tCREATED BY")
	for _, l := range rep.Layers {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", l.Index, units.ShortDigest(l.Digest), shortMediaType(l.MediaType),
			units.HumanSize(l.CompressedSize), units.HumanSize(l.UncompressedSize), l.FileCount, l.Whiteouts, oneLine(l.CreatedBy, 80))
	}
	t := rep.Total
	fmt.Fprintf(tw, "total\t%d layers\t\t%s\t%s\t%d\t%d\t\n", t.Layers, units.HumanSize(t.CompressedSize), units.HumanSize(t.UncompressedSize), t.FileCount, t.Whiteouts)
	return tw.Flush()
}

func shortMediaType(mt string) string {
	for _, p := range []string{"application/vnd.oci.image.", "application/vnd.docker.image."} {
		mt = strings.TrimPrefix(mt, p)
	}
	return mt
}

// oneLine collapses whitespace and cuts s to max runes with "...".
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); max > 3 && len(r) > max {
		s = string(r[:max-3]) + "..."
	}
	return s
}
