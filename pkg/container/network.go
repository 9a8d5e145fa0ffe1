package container

import (
	"context"
	"errors"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/network"
)

// AttachNetwork attaches container id to the CNI network o.Network
// (package network; o.Dir and o.ID are filled in here). The record names
// the network namespace before anything is made, so that rm and gc can
// detach it whatever happens next, and gets the address and ports after.
func (s *Store) AttachNetwork(ctx context.Context, id string, o network.Options) (*network.Attachment, error) {
	o.Dir, o.ID = s.Dir(id), id
	if _, err := s.Update(ctx, id, func(c *Container) error {
		c.Network, c.NetNS = o.Network, network.NSPath(o.Dir)
		return nil
	}); err != nil {
		return nil, err
	}
	a, err := network.Attach(ctx, o)
	if err != nil {
		return nil, err
	}
	if _, err := s.Update(ctx, id, func(c *Container) error {
		c.IP, c.Ports = a.IP, a.Ports
		return nil
	}); err != nil {
		return nil, errors.Join(err, s.DetachNetwork(ctx, id))
	}
	return a, nil
}

// DetachNetwork detaches container id from its CNI network, if it has
// one, and clears NetNS, IP and Ports in its record (the network's name
// stays). Doing it twice is fine.
func (s *Store) DetachNetwork(ctx context.Context, id string) error {
	if err := network.Detach(ctx, s.Dir(id), id); err != nil {
		return err
	}
	_, err := s.Update(ctx, id, func(c *Container) error {
		c.NetNS, c.IP, c.Ports = "", "", nil
		return nil
	})
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	return err
}
