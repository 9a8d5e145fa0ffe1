package inspect

import (
	"context"
	"fmt"
	"io"
	"path"
	"sort"

	"github.com/ctrlite/ctr-lite/pkg/units"
)

// WastedPath is one path present in more than one layer.
type WastedPath struct {
	Path string `json:"path"`
	// Count is how many layers list the path (a whiteout counts).
	Count int `json:"count"`
	// Bytes is the sum of the sizes of all its copies (dive's
	// CumulativeSize), the last one included.
	Bytes int64 `json:"bytes"`
}

// EfficiencyReport is `inspect efficiency`; see doc.go for the definitions.
type EfficiencyReport struct {
	Efficiency    float64      `json:"efficiency"`
	TotalBytes    int64        `json:"total_bytes"`
	UserBytes     int64        `json:"user_bytes"`
	WastedBytes   int64        `json:"wasted_bytes"`
	WastedPercent float64      `json:"wasted_percent"`
	DeletedBytes  int64        `json:"deleted_bytes"`
	WastedPaths   []WastedPath `json:"wasted_paths"`
}

type pathStat struct {
	count     int
	cumulated int64
	min       int64
}

// Efficiency computes dive's efficiency score and wasted bytes from the
// layers' tar headers (see doc.go).
func Efficiency(ctx context.Context, src Source) (EfficiencyReport, error) {
	scans, err := scanAll(ctx, src)
	if err != nil {
		return EfficiencyReport{}, fmt.Errorf("inspect efficiency: %w", err)
	}
	rep, _ := efficiency(scans)
	return rep, nil
}

type wsKey struct {
	path     string
	whiteout bool
}

// efficiency returns the report and the merged tree it built on the way.
func efficiency(scans []*layerScan) (EfficiencyReport, *tree) {
	stats := map[string]*pathStat{}
	lower := newTree()
	// dive sizes a directory whiteout on layers stacked without their
	// opaque markers: what an opaque directory hid still counts.
	diveLower := newTree()
	var rep EfficiencyReport
	for li, s := range scans {
		// The layer's own tree, as dive builds it: one node per path (a
		// whiteout is its own node), opaque markers dropped; a leaf is
		// a node nothing else in the layer lives under.
		nodes := map[wsKey]*Entry{}
		parents := map[string]bool{}
		var order []wsKey
		var layerBytes int64
		for _, e := range s.entries {
			layerBytes += e.hdrSize
			if e.Type == TypeOpaque {
				continue
			}
			k := wsKey{e.Path, e.Type == TypeWhiteout}
			if _, seen := nodes[k]; !seen {
				order = append(order, k)
			}
			nodes[k] = e
			for d := path.Dir(e.Path); d != "/" && !parents[d]; d = path.Dir(d) {
				parents[d] = true
			}
		}
		rep.TotalBytes += layerBytes
		if li > 0 {
			rep.UserBytes += layerBytes
		}
		for _, k := range order {
			if parents[k.path] && !k.whiteout {
				continue
			}
			e := nodes[k]
			size := e.hdrSize
			if k.whiteout {
				size = 0
				if n := diveLower.lookup(k.path); n != nil && (n.entry == nil || n.entry.Type == TypeDir) {
					size = subtreeHdrSize(n)
				}
			}
			st := stats[k.path]
			if st == nil {
				st = &pathStat{min: size}
				stats[k.path] = st
			}
			st.count++
			st.cumulated += size
			if size < st.min {
				st.min = size
			}
		}
		rep.DeletedBytes += lower.apply(s.entries)
		diveLower.apply(withoutOpaque(s.entries))
	}
	var minSum, cumSum int64
	rep.WastedPaths = []WastedPath{}
	for p, st := range stats {
		minSum += st.min
		cumSum += st.cumulated
		if st.count > 1 {
			rep.WastedBytes += st.cumulated
			if st.cumulated > 0 {
				rep.WastedPaths = append(rep.WastedPaths, WastedPath{Path: p, Count: st.count, Bytes: st.cumulated})
			}
		}
	}
	rep.Efficiency = 1
	if cumSum > 0 {
		rep.Efficiency = float64(minSum) / float64(cumSum)
	}
	if rep.UserBytes > 0 {
		rep.WastedPercent = 100 * float64(rep.WastedBytes) / float64(rep.UserBytes)
	}
	sort.Slice(rep.WastedPaths, func(i, j int) bool {
		a, b := rep.WastedPaths[i], rep.WastedPaths[j]
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		return a.Path < b.Path
	})
	return rep, lower
}

// Top returns the report with only the n most wasteful paths (all of them
// when n <= 0); the totals still count every path.
func (r EfficiencyReport) Top(n int) EfficiencyReport {
	if n > 0 && len(r.WastedPaths) > n {
		r.WastedPaths = r.WastedPaths[:n:n]
	}
	return r
}

func withoutOpaque(entries []*Entry) []*Entry {
	out := make([]*Entry, 0, len(entries))
	for _, e := range entries {
		if e.Type != TypeOpaque {
			out = append(out, e)
		}
	}
	return out
}

// WriteEfficiencyTable prints the summary and the top largest wasted
// paths (all of them when top <= 0).
func WriteEfficiencyTable(w io.Writer, rep EfficiencyReport, top int) error {
	fmt.Fprintf(w, "efficiency:      %.2f %%\n", 100*rep.Efficiency)
	fmt.Fprintf(w, "wasted bytes:    %d (%s)\n", rep.WastedBytes, units.HumanSize(rep.WastedBytes))
	fmt.Fprintf(w, "wasted percent:  %.2f %% of %s above the first layer\n", rep.WastedPercent, units.HumanSize(rep.UserBytes))
	fmt.Fprintf(w, "total bytes:     %d (%s)\n", rep.TotalBytes, units.HumanSize(rep.TotalBytes))
	fmt.Fprintf(w, "deleted bytes:   %d (%s) hidden by whiteouts and opaque directories\n\n", rep.DeletedBytes, units.HumanSize(rep.DeletedBytes))
	tw := newTable(w)
	fmt.Fprintln(tw, "COUNT\tWASTED\tPATH")
	for _, p := range rep.Top(top).WastedPaths {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", p.Count, units.HumanSize(p.Bytes), p.Path)
	}
	return tw.Flush()
}
