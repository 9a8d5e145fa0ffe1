package launch

import (
	"context"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/ctrlite/ctr-lite/pkg/network"
	"github.com/ctrlite/ctr-lite/pkg/runner/spec"
	"github.com/ctrlite/ctr-lite/pkg/usernet"
)

// cniNetwork is the CNI network --network names, or "" for the host's
// network, none and the user-mode networks.
func cniNetwork(name string) string {
	switch name {
	case "", spec.NetworkHost, spec.NetworkNone, spec.NetworkPasta, spec.NetworkSlirp:
		return ""
	case spec.NetworkBridge:
		return network.Default
	}
	return name
}

// attachNetwork attaches container c to its CNI network, if it has one,
// and points s at the result: its network namespace by path (the runner,
// runc and crun join it) and, for /etc/hosts, its address and name.
func attachNetwork(ctx context.Context, cs *container.Store, c *container.Container, opts Options, s *specs.Spec) error {
	name := cniNetwork(opts.Spec.Network)
	if name == "" {
		return nil
	}
	a, err := cs.AttachNetwork(ctx, c.ID, network.Options{
		ConfDir: opts.NetConfDir, Network: name, Ports: opts.Ports,
	})
	if err != nil {
		return err
	}
	for i, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			s.Linux.Namespaces[i].Path = a.NetNS
		}
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[spec.AnnotationIP] = a.IP
	if c.Name != "" {
		s.Annotations[spec.AnnotationName] = c.Name
	}
	return nil
}

// detachNetwork ends what attachNetwork made once the container is gone;
// a failure is told (rm and gc try again).
func detachNetwork(ctx context.Context, cs *container.Store, c *container.Container, opts Options) {
	if cniNetwork(opts.Spec.Network) == "" {
		return
	}
	if err := cs.DetachNetwork(context.WithoutCancel(ctx), c.ID); err != nil {
		opts.Notice(fmt.Sprintf("warning: %v (rm or gc will try again)", err))
	}
}

// unprivilegedRoot: a run in root cannot do what needs privilege on the
// host (rootless, or root of a user namespace).
func unprivilegedRoot(root *dataroot.Root) bool { return root.Rootless() || root.UserNS() }

// resolveNetwork chooses the default --network into opts, as docker and
// podman do: bridge as root; without privilege a user-mode network
// (usernet.Default), or none, said once, when neither pasta nor slirp4netns
// is installed. -p needs a network that can publish: a CNI one or pasta.
func resolveNetwork(unpriv bool, opts *Options) error {
	so := &opts.Spec
	if so.Network == "" {
		switch {
		case !unpriv:
			so.Network = spec.NetworkBridge
		case usernet.Default() != "":
			so.Network = usernet.Default()
		default:
			opts.Notice("no user-mode network: neither pasta (Debian package passt) nor slirp4netns is installed; the container has only lo (--network host shares yours)")
			so.Network = spec.NetworkNone
		}
	}
	if len(opts.Ports) > 0 && cniNetwork(so.Network) == "" && so.Network != spec.NetworkPasta {
		return fmt.Errorf("-p: publishing ports needs a network of the container's own that can publish (bridge, a CNI network or pasta), not %s", so.Network)
	}
	return nil
}
