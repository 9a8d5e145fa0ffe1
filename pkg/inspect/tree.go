package inspect

import (
	"sort"
	"strings"
)

// node is one path of a merged tree. An implicit parent directory (one
// no layer lists) has a nil entry.
type node struct {
	entry    *Entry
	children map[string]*node
}

// tree is a merged root filesystem built from entries alone.
type tree struct{ root *node }

func newTree() *tree { return &tree{root: &node{}} }

func split(p string) []string { return strings.Split(strings.TrimPrefix(p, "/"), "/") }

func (t *tree) lookup(p string) *node {
	n := t.root
	if p == "/" {
		return n
	}
	for _, name := range split(p) {
		c := n.children[name]
		if c == nil {
			return nil
		}
		n = c
	}
	return n
}

// remove deletes p and everything below it, returning the tar header
// bytes removed.
func (t *tree) remove(p string) int64 {
	parts := split(p)
	parent := t.lookup("/" + strings.Join(parts[:len(parts)-1], "/"))
	if parent == nil {
		return 0
	}
	name := parts[len(parts)-1]
	n := parent.children[name]
	if n == nil {
		return 0
	}
	delete(parent.children, name)
	return subtreeHdrSize(n)
}

func (t *tree) add(e *Entry) {
	n := t.root
	for _, name := range split(e.Path) {
		if n.children == nil {
			n.children = map[string]*node{}
		}
		c := n.children[name]
		if c == nil {
			c = &node{}
			n.children[name] = c
		}
		n = c
	}
	n.entry = e
	if e.Type != TypeDir {
		n.children = nil // a non-directory replaces a directory and all below it
	}
}

// apply stacks one layer on the tree by the image-spec rules: whiteouts
// delete the path and everything below it in lower layers, an opaque
// marker empties the directory of what lower layers put there; then the
// layer's entries are added (a later entry of one path wins). It returns
// the tar header bytes of lower entries the whiteouts and opaque markers hid.
func (t *tree) apply(entries []*Entry) (hidden int64) {
	for _, e := range entries {
		switch e.Type {
		case TypeWhiteout:
			hidden += t.remove(e.Path)
		case TypeOpaque:
			if n := t.lookup(e.Path); n != nil {
				for _, c := range n.children {
					hidden += subtreeHdrSize(c)
				}
				n.children = nil
			}
		}
	}
	var links []*Entry
	for _, e := range entries {
		if e.Type == TypeWhiteout || e.Type == TypeOpaque {
			continue
		}
		t.add(e)
		if e.Type == TypeHardlink && e.Digest == "" {
			links = append(links, e)
		}
	}
	for _, l := range links {
		if n := t.lookup(l.LinkTarget); n != nil && n.entry != nil && n.entry.Type == TypeFile {
			l.Size, l.Digest = n.entry.Size, n.entry.Digest
		}
	}
	return hidden
}

// walk visits the tree's entries depth first, parents before children,
// names in byte order.
func (t *tree) walk(fn func(e *Entry)) { walkNode(t.root, fn) }

func walkNode(n *node, fn func(e *Entry)) {
	if n.entry != nil {
		fn(n.entry)
	}
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		walkNode(n.children[name], fn)
	}
}

// subtreeHdrSize sums the tar header sizes of n and everything below it.
func subtreeHdrSize(n *node) int64 {
	var s int64
	walkNode(n, func(e *Entry) { s += e.hdrSize })
	return s
}

func merge(scans []*layerScan) *tree {
	t := newTree()
	for _, s := range scans {
		t.apply(s.entries)
	}
	return t
}

// entries returns the merged tree's entries in walk order.
func (t *tree) entries() []*Entry {
	var out []*Entry
	t.walk(func(e *Entry) { out = append(out, e) })
	return out
}
