package runner

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// joinNamespaces makes the child (its locked thread, which execs the
// command) join the existing namespaces the spec names by path. Only a
// network namespace can be joined (one made by package network, or any
// nsfs file, e.g. /proc/PID/ns/net); other types with a path are refused.
func joinNamespaces(s *specs.Spec) error {
	for _, n := range s.Linux.Namespaces {
		if n.Path == "" {
			continue
		}
		if n.Type != specs.NetworkNamespace {
			return fmt.Errorf("join %s namespace %s: %w", n.Type, n.Path, ErrInvalidConfig)
		}
		f, err := os.Open(n.Path)
		if err != nil {
			return fmt.Errorf("join network namespace: %w", err)
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			return fmt.Errorf("join network namespace %s: setns: %w", n.Path, err)
		}
	}
	return nil
}

// loopbackUp sets IFF_UP on lo in a fresh network namespace with plain
// ioctls (no netlink).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring lo up: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: SIOCGIFFLAGS: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: SIOCSIFFLAGS: %w", err)
	}
	return nil
}
