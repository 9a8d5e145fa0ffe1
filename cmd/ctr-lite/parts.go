package main

import (
	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/ctrlite/ctr-lite/pkg/snapshot"
)

// dataRoot opens --root; every part below is opened from it, so a
// relative --root names the same absolute directory for all of them.
func (g *globals) dataRoot() (*dataroot.Root, error) { return dataroot.Open(g.root) }

// store opens the content store under --root.
func (g *globals) store() (*content.Store, error) {
	r, err := g.dataRoot()
	if err != nil {
		return nil, err
	}
	return content.New(r)
}

// containers opens the container records under --root.
func (g *globals) containers() (*container.Store, error) {
	r, err := g.dataRoot()
	if err != nil {
		return nil, err
	}
	return container.NewStore(r), nil
}

// parts are every part of --root, in the order gc and fsck go over them.
func (g *globals) parts() (*dataroot.Root, []dataroot.Part, error) {
	st, err := g.store()
	if err != nil {
		return nil, nil, err
	}
	sn, err := snapshot.New(st)
	if err != nil {
		return nil, nil, err
	}
	return st.Root(), []dataroot.Part{st, sn, container.NewStore(st.Root())}, nil
}
