package inspect

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/units"
)

// Change kinds, the values of PathChange.Change.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// DiffOptions selects what Diff compares.
type DiffOptions struct {
	// Layers compares the layer lists (by diffID) instead of the trees.
	Layers bool
}

// PathChange is one path that differs between two merged trees.
type PathChange struct {
	Path   string `json:"path"`
	Change string `json:"change"`
	// Fields lists what changed: type, mode, uid, gid, size, digest,
	// link_target (only for "changed").
	Fields []string `json:"fields,omitempty"`
	A      *Entry   `json:"a,omitempty"`
	B      *Entry   `json:"b,omitempty"`
	// SizeDelta is B's size minus A's (a missing side counts 0).
	SizeDelta int64 `json:"size_delta"`
}

// DiffSummary counts the changes.
type DiffSummary struct {
	Added        int   `json:"added"`
	Removed      int   `json:"removed"`
	Changed      int   `json:"changed"`
	AddedBytes   int64 `json:"added_bytes"`
	RemovedBytes int64 `json:"removed_bytes"`
	SizeDelta    int64 `json:"size_delta"`
}

// LayerDiff compares layer lists by diffID.
type LayerDiff struct {
	Shared  []string `json:"shared"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
}

// DiffReport is `diff`: Paths and Summary for trees, Layers with --layers.
type DiffReport struct {
	A       string       `json:"a"`
	B       string       `json:"b"`
	Paths   []PathChange `json:"paths,omitempty"`
	Summary *DiffSummary `json:"summary,omitempty"`
	Layers  *LayerDiff   `json:"layers,omitempty"`
}

// Diff compares two images: their merged trees, or with opts.Layers their
// layer lists (which needs no layer stream).
func Diff(ctx context.Context, a, b Source, opts DiffOptions) (DiffReport, error) {
	rep := DiffReport{A: a.ManifestDigest().String(), B: b.ManifestDigest().String()}
	if opts.Layers {
		rep.Layers = diffLayers(a, b)
		return rep, nil
	}
	sa, err := scanAll(ctx, a)
	if err != nil {
		return DiffReport{}, fmt.Errorf("diff: image A: %w", err)
	}
	sb, err := scanAll(ctx, b)
	if err != nil {
		return DiffReport{}, fmt.Errorf("diff: image B: %w", err)
	}
	rep.Paths, rep.Summary = diffTrees(merge(sa), merge(sb))
	return rep, nil
}

func diffLayers(a, b Source) *LayerDiff {
	ld := &LayerDiff{Shared: []string{}, Added: []string{}, Removed: []string{}}
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, d := range a.Config().RootFS.DiffIDs {
		inA[d.String()] = true
	}
	for _, d := range b.Config().RootFS.DiffIDs {
		inB[d.String()] = true
		if inA[d.String()] {
			ld.Shared = append(ld.Shared, d.String())
		} else {
			ld.Added = append(ld.Added, d.String())
		}
	}
	for _, d := range a.Config().RootFS.DiffIDs {
		if !inB[d.String()] {
			ld.Removed = append(ld.Removed, d.String())
		}
	}
	return ld
}

// contentKind treats a hardlink as the regular file it is: which of a
// group of links the tar lists first is not a change.
func contentKind(e *Entry) string {
	if e.Type == TypeHardlink {
		return TypeFile
	}
	return e.Type
}

func changedFields(x, y *Entry) []string {
	var f []string
	if contentKind(x) != contentKind(y) {
		f = append(f, "type")
	}
	if x.perm != y.perm {
		f = append(f, "mode")
	}
	if x.UID != y.UID {
		f = append(f, "uid")
	}
	if x.GID != y.GID {
		f = append(f, "gid")
	}
	if x.Size != y.Size {
		f = append(f, "size")
	}
	if x.Digest != y.Digest {
		f = append(f, "digest")
	}
	if x.LinkTarget != y.LinkTarget && x.Type != TypeHardlink && y.Type != TypeHardlink {
		f = append(f, "link_target")
	}
	return f
}

func diffTrees(ta, tb *tree) ([]PathChange, *DiffSummary) {
	ea, eb := ta.entries(), tb.entries()
	byPath := make(map[string]*Entry, len(eb))
	for _, e := range eb {
		byPath[e.Path] = e
	}
	inA := make(map[string]bool, len(ea))
	sum := &DiffSummary{}
	changes := []PathChange{}
	for _, x := range ea {
		inA[x.Path] = true
		y := byPath[x.Path]
		if y == nil {
			changes = append(changes, PathChange{Path: x.Path, Change: Removed, A: x, SizeDelta: -x.Size})
			sum.Removed++
			sum.RemovedBytes += x.Size
			continue
		}
		if f := changedFields(x, y); len(f) > 0 {
			changes = append(changes, PathChange{Path: x.Path, Change: Changed, Fields: f, A: x, B: y, SizeDelta: y.Size - x.Size})
			sum.Changed++
		}
	}
	for _, y := range eb {
		if !inA[y.Path] {
			changes = append(changes, PathChange{Path: y.Path, Change: Added, B: y, SizeDelta: y.Size})
			sum.Added++
			sum.AddedBytes += y.Size
		}
	}
	for _, c := range changes {
		sum.SizeDelta += c.SizeDelta
	}
	sortChanges(changes)
	return changes, sum
}

func sortChanges(c []PathChange) {
	// Stable order: by path; a path appears once.
	sortSlice(c, func(a, b PathChange) bool { return a.Path < b.Path })
}

// WriteDiffTable prints one line per changed path (names escaped:
// tableText) and a summary, or the layer comparison.
func WriteDiffTable(w io.Writer, rep DiffReport) error {
	if rep.Layers != nil {
		tw := newTable(w)
		fmt.Fprintln(tw, "STATUS\tDIFF ID")
		for _, set := range []struct {
			name string
			ids  []string
		}{{"shared", rep.Layers.Shared}, {"added", rep.Layers.Added}, {"removed", rep.Layers.Removed}} {
			for _, id := range set.ids {
				fmt.Fprintf(tw, "%s\t%s\n", set.name, id)
			}
		}
		fmt.Fprintf(tw, "\n%d shared, %d added, %d removed\n", len(rep.Layers.Shared), len(rep.Layers.Added), len(rep.Layers.Removed))
		return tw.Flush()
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "CHANGE\tSIZE DELTA\tPATH\tDETAIL")
	for _, c := range rep.Paths {
		mark := map[string]string{Added: "+", Removed: "-", Changed: "M"}[c.Change]
		detail := ""
		if c.Change == Changed {
			var parts []string
			for _, f := range c.Fields {
				parts = append(parts, f+" "+fieldValue(c.A, f)+" -> "+fieldValue(c.B, f))
			}
			detail = strings.Join(parts, ", ")
		}
		fmt.Fprintf(tw, "%s\t%+d\t%s\t%s\n", mark, c.SizeDelta, tableText(c.Path), detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s := rep.Summary; s != nil {
		_, err := fmt.Fprintf(w, "\n%d added (%s), %d removed (%s), %d changed; size delta %+d bytes (%s)\n",
			s.Added, units.HumanSize(s.AddedBytes), s.Removed, units.HumanSize(s.RemovedBytes), s.Changed, s.SizeDelta, units.HumanSize(s.SizeDelta))
		return err
	}
	return nil
}

func fieldValue(e *Entry, f string) string {
	switch f {
	case "type":
		return e.Type
	case "mode":
		return e.Mode
	case "uid":
		return fmt.Sprint(e.UID)
	case "gid":
		return fmt.Sprint(e.GID)
	case "size":
		return fmt.Sprint(e.Size)
	case "digest":
		return units.ShortDigest(e.Digest)
	case "link_target":
		return tableText(e.LinkTarget)
	}
	return ""
}
