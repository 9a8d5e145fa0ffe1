package launch

import (
	"context"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/network"
	"github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// cniNetwork is the CNI network --network names, or "" for the host's
// network and none.
func cniNetwork(name string) string {
	switch name {
	case "", spec.NetworkHost, spec.NetworkNone:
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
