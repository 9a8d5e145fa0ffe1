package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/ctrlite/ctr-lite/pkg/units"
)

// IfName is the container's interface.
const IfName = "eth0"

// Files below a container's directory.
const (
	nsFile   = "netns"         // the bind-mounted namespace
	netDir   = "net"           // conflist copy and libcni's cache
	listFile = "conflist.json" // in netDir
	cacheDir = "cache"         // in netDir
)

// NSPath is the network namespace file Attach makes in the container
// directory dir (record it before Attach: Detach is then possible whatever
// happens).
func NSPath(dir string) string { return filepath.Join(dir, nsFile) }

// Options say which network to attach a container to.
type Options struct {
	ConfDir string // the conflists (ConfDir(config))
	IPAMDir string // leases of the default network when Attach writes it ("": DefaultIPAMDir)
	Network string // conflist name; Default for bridge
	Dir     string // the container's directory
	ID      string // container ID (CNI_CONTAINERID)
	Ports   []Port
}

// Attachment is what the network gave the container.
type Attachment struct {
	NetNS   string
	IP      string // the container's first IPv4 (or IPv6) address
	Gateway string
	Ports   []Port
}

// Attach makes the container's network namespace and runs CNI ADD on it.
// On failure everything ADD did is undone (CNI DEL) before returning.
func Attach(ctx context.Context, o Options) (*Attachment, error) {
	if o.IPAMDir == "" {
		o.IPAMDir = DefaultIPAMDir
	}
	list, err := load(o.ConfDir, o.Network, o.IPAMDir)
	if err != nil {
		return nil, err
	}
	if err := findPlugins(list); err != nil {
		return nil, err
	}
	unlock, err := lockDir(ctx, o.Dir)
	if err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", units.ShortDigest(o.ID), o.Network, err)
	}
	defer unlock()
	nd := filepath.Join(o.Dir, netDir)
	if err := os.MkdirAll(nd, 0o700); err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", units.ShortDigest(o.ID), o.Network, err)
	}
	if err := os.WriteFile(filepath.Join(nd, listFile), list.Bytes, 0o600); err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", units.ShortDigest(o.ID), o.Network, err)
	}
	ns := NSPath(o.Dir)
	if err := newNS(ns); err != nil {
		return nil, errors.Join(fmt.Errorf("attach %s to %s: %w", units.ShortDigest(o.ID), o.Network, err), detach(context.WithoutCancel(ctx), o.Dir, o.ID))
	}
	res, err := cni(nd).AddNetworkList(ctx, list, runtimeConf(o.ID, ns, o.Ports))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("attach %s to %s: %w", units.ShortDigest(o.ID), o.Network, err), detach(context.WithoutCancel(ctx), o.Dir, o.ID))
	}
	a := &Attachment{NetNS: ns, Ports: o.Ports}
	if r, err := types100.NewResultFromResult(res); err == nil {
		// The first IPv4 address, else the first one.
		for _, ip := range r.IPs {
			if a.IP != "" && (ip.Address.IP.To4() == nil || is4(a.IP)) {
				continue
			}
			a.IP, a.Gateway = ip.Address.IP.String(), ""
			if ip.Gateway != nil {
				a.Gateway = ip.Gateway.String()
			}
		}
	}
	return a, nil
}

// Detach undoes Attach for the container whose directory is dir: CNI DEL
// (with the configuration and result cached at ADD, else the conflist
// copy), then the netns file. Nothing to undo is no error: running it
// twice, or after a half-failed Attach, is fine.
//
// Attach and Detach of one container exclude each other (a lock on dir):
// the end of a run and an `rm -f` may detach at the same time.
func Detach(ctx context.Context, dir, id string) error {
	unlock, err := lockDir(ctx, dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // no directory, nothing attached
	}
	if err != nil {
		return fmt.Errorf("detach %s: %w", units.ShortDigest(id), err)
	}
	defer unlock()
	return detach(ctx, dir, id)
}

func detach(ctx context.Context, dir, id string) error {
	nd := filepath.Join(dir, netDir)
	ns := NSPath(dir)
	var errs []error
	if b, err := os.ReadFile(filepath.Join(nd, listFile)); err == nil {
		if err := del(ctx, nd, b, id, ns); err != nil {
			errs = append(errs, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := removeNS(ns); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if err := os.RemoveAll(nd); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detach %s: %w", units.ShortDigest(id), err)
	}
	return nil
}

// del runs CNI DEL for every plugin of the list, last first. libcni stops
// at the first plugin that fails; then each is run alone, so that one
// failing (e.g. a plugin that needs the ADD result ADD never gave) does not
// keep the others' rules and leases.
func del(ctx context.Context, nd string, listBytes []byte, id, ns string) error {
	c := cni(nd)
	list, err := libcni.ConfListFromBytes(listBytes)
	if err != nil {
		return err
	}
	nsArg := ns
	if !isNS(ns) {
		nsArg = "" // gone: plugins clean up what lives outside it
	}
	rt := runtimeConf(id, nsArg, nil)
	if cached, crt, err := c.GetNetworkListCachedConfig(list, rt); err == nil && cached != nil && crt != nil {
		if l, err := libcni.ConfListFromBytes(cached); err == nil {
			list = l
		}
		rt.CapabilityArgs = crt.CapabilityArgs
	}
	// libcni drops its cached result once a DEL succeeds; each plugin
	// alone needs it again.
	resFile := filepath.Join(nd, cacheDir, "results", list.Name+"-"+id+"-"+IfName)
	cachedRes, _ := os.ReadFile(resFile)
	if err = c.DelNetworkList(ctx, list, rt); err == nil {
		return nil
	}
	errs := []error{err}
	failed := false
	for i := len(list.Plugins) - 1; i >= 0; i-- {
		one := &libcni.NetworkConfigList{Name: list.Name, CNIVersion: list.CNIVersion, Plugins: list.Plugins[i : i+1]}
		if cachedRes != nil {
			_ = os.WriteFile(resFile, cachedRes, 0o600)
		}
		if err := c.DelNetworkList(ctx, one, rt); err != nil {
			errs, failed = append(errs, err), true
		}
	}
	if !failed {
		return nil // each plugin alone cleaned up
	}
	return errors.Join(errs...)
}

// lockDir takes the container's network lock (net.lock in dir), with
// the one lock implementation of package dataroot: cancelled with ctx.
func lockDir(ctx context.Context, dir string) (func(), error) {
	return dataroot.LockFile(ctx, filepath.Join(dir, "net.lock"), dataroot.Exclusive)
}

func runtimeConf(id, ns string, ports []Port) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: ns, IfName: IfName}
	if len(ports) > 0 {
		pm := make([]map[string]any, len(ports))
		for i, p := range ports {
			pm[i] = map[string]any{"hostPort": p.HostPort, "containerPort": p.ContainerPort, "protocol": p.Protocol, "hostIP": p.HostIP}
		}
		rt.CapabilityArgs = map[string]any{"portMappings": pm}
	}
	return rt
}

func cni(netDir string) *libcni.CNIConfig {
	return libcni.NewCNIConfigWithCacheDir(pluginPath(), filepath.Join(netDir, cacheDir), nil)
}

func is4(ip string) bool { return net.ParseIP(ip).To4() != nil }
