package inspect

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/ctrlite/ctr-lite/pkg/units"
)

// FilesOptions selects what `inspect files` lists.
type FilesOptions struct {
	// Layer lists that layer's own entries (whiteouts and opaque markers
	// included) instead of the merged tree.
	Layer *int
	// Glob keeps only paths that match (see Glob); "" keeps all.
	Glob string
}

// FilesReport is `inspect files`.
type FilesReport struct {
	// Layer is the layer listed, or null for the merged tree.
	Layer   *int     `json:"layer"`
	Entries []*Entry `json:"entries"`
}

// Files returns the merged file tree (image-spec whiteout and opaque
// rules applied), or one layer's entries sorted by path. In one-layer
// mode only that layer is read, so a hardlink to a file of a lower layer
// shows no size or digest.
func Files(ctx context.Context, src Source, opts FilesOptions) (FilesReport, error) {
	var g *Glob
	if opts.Glob != "" {
		var err error
		if g, err = CompileGlob(opts.Glob); err != nil {
			return FilesReport{}, fmt.Errorf("inspect files: %w", err)
		}
	}
	rep := FilesReport{Layer: opts.Layer, Entries: []*Entry{}}
	var all []*Entry
	if opts.Layer != nil {
		i := *opts.Layer
		if i < 0 || i >= len(src.Manifest().Layers) {
			return FilesReport{}, fmt.Errorf("inspect files: layer %d of %d: %w", i, len(src.Manifest().Layers), ErrNoLayer)
		}
		s, err := scanLayer(ctx, src, i)
		if err != nil {
			return FilesReport{}, fmt.Errorf("inspect files: %w", err)
		}
		all = append(all, s.entries...)
		sort.SliceStable(all, func(a, b int) bool { return all[a].Path < all[b].Path })
	} else {
		scans, err := scanAll(ctx, src)
		if err != nil {
			return FilesReport{}, fmt.Errorf("inspect files: %w", err)
		}
		all = merge(scans).entries()
	}
	for _, e := range all {
		if g == nil || g.Match(e.Path) {
			rep.Entries = append(rep.Entries, e)
		}
	}
	return rep, nil
}

// WriteFilesTable prints one line per entry, ls -l style, names escaped
// (tableText).
func WriteFilesTable(w io.Writer, rep FilesReport) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "MODE\tUID:GID\tSIZE\tDIGEST\tLAYER\tPATH")
	for _, e := range rep.Entries {
		name := tableText(e.Path)
		switch e.Type {
		case TypeSymlink:
			name += " -> " + tableText(e.LinkTarget)
		case TypeHardlink:
			name += " link to " + tableText(e.LinkTarget)
		}
		fmt.Fprintf(tw, "%s\t%d:%d\t%d\t%s\t%d\t%s\n", e.ModeString(), e.UID, e.GID, e.Size, units.ShortDigest(e.Digest), e.Layer, name)
	}
	return tw.Flush()
}
