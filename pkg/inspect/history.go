package inspect

import (
	"fmt"
	"io"
	"time"
)

// HistoryEntry is one config history entry.
type HistoryEntry struct {
	Index      int    `json:"index"`
	Created    string `json:"created,omitempty"` // RFC 3339, UTC
	CreatedBy  string `json:"created_by"`
	Comment    string `json:"comment,omitempty"`
	EmptyLayer bool   `json:"empty_layer"`
	// Layer is the index of the layer the entry made, or null for an
	// empty layer (or an entry beyond the last layer).
	Layer *int `json:"layer"`
}

// HistoryReport is `inspect history`.
type HistoryReport struct {
	History []HistoryEntry `json:"history"`
}

// History returns the config history, each entry matched to its layer.
func History(src Source) HistoryReport {
	rep := HistoryReport{History: []HistoryEntry{}}
	n := len(src.Manifest().Layers)
	layer := 0
	for i, h := range src.Config().History {
		e := HistoryEntry{Index: i, CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.EmptyLayer}
		if h.Created != nil && !h.Created.IsZero() {
			e.Created = h.Created.UTC().Format(time.RFC3339)
		}
		if !h.EmptyLayer && layer < n {
			l := layer
			e.Layer = &l
			layer++
		}
		rep.History = append(rep.History, e)
	}
	return rep
}

// WriteHistoryTable prints the history, oldest first.
func WriteHistoryTable(w io.Writer, rep HistoryReport) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "#\tLAYER\tCREATED\tCREATED BY\tCOMMENT")
	for _, h := range rep.History {
		layer := "<empty>"
		if h.Layer != nil {
			layer = fmt.Sprint(*h.Layer)
		} else if !h.EmptyLayer {
			layer = "<missing>"
		}
		created := h.Created
		if created == "" {
			created = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", h.Index, layer, created, oneLine(h.CreatedBy, 100), oneLine(h.Comment, 40))
	}
	return tw.Flush()
}
