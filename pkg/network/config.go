package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// Default is the name of the network `--network bridge` means.
const Default = "ctr-lite"

// Defaults of the network written on first use.
const (
	DefaultBridge = "ctrlite0"
	DefaultSubnet = "10.89.0.0/24"
)

// ConfDir is where the conflists of config directory dir live.
func ConfDir(config string) string { return filepath.Join(config, "net.d") }

// DefaultIPAMDir is where the default network's host-local IPAM keeps its
// leases. Its bridge and subnet are the host's, whatever the data root or
// config directory, so its leases are too: one data root's containers
// must never get addresses another's hold. Under /run: no container and
// no lease outlives a reboot.
const DefaultIPAMDir = "/run/ctr-lite/ipam"

// defaultConfList is the conflist of the default network.
func defaultConfList(ipamDir string) ([]byte, error) {
	type m = map[string]any
	l := m{
		"cniVersion": "1.0.0",
		"name":       Default,
		"plugins": []m{
			{
				"type": "bridge", "bridge": DefaultBridge, "isGateway": true, "ipMasq": true, "hairpinMode": true,
				"ipam": m{
					"type": "host-local", "dataDir": ipamDir,
					"ranges": [][]m{{{"subnet": DefaultSubnet}}},
					"routes": []m{{"dst": "0.0.0.0/0"}},
				},
			},
			{"type": "portmap", "capabilities": m{"portMappings": true}},
			{"type": "firewall", "backend": "iptables"},
		},
	}
	b, err := json.MarshalIndent(l, "", "  ")
	return append(b, '\n'), err
}

// load returns the conflist named name from confDir; the default network
// is written there first when no file names it (ipamDir is its leases'
// directory).
func load(confDir, name, ipamDir string) (*libcni.NetworkConfigList, error) {
	list, err := libcni.LoadConfList(confDir, name)
	if err == nil {
		return list, nil
	}
	var nf libcni.NotFoundError
	var none libcni.NoConfigsFoundError
	if !errors.As(err, &nf) && !errors.As(err, &none) {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	if name != Default {
		return nil, fmt.Errorf("network %s: no conflist in %s names it: %w", name, confDir, errdefs.ErrNotFound)
	}
	b, err := defaultConfList(ipamDir)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	if err := writeNew(filepath.Join(confDir, Default+".conflist"), b); err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	list, err = libcni.LoadConfList(confDir, name)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	return list, nil
}

// writeNew writes a file that does not exist yet (temp file + link, so a
// concurrent first use keeps the first one complete).
func writeNew(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".conflist-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Close()); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), p); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}

// pluginPath is where the plugins are looked up: $CNI_PATH, or the
// Debian and upstream directories.
func pluginPath() []string {
	if v := os.Getenv("CNI_PATH"); v != "" {
		return filepath.SplitList(v)
	}
	return []string{"/usr/lib/cni", "/opt/cni/bin"}
}

// Names lists the networks confDir's conflists name (for completion).
func Names(confDir string) []string {
	files, err := libcni.ConfFiles(confDir, []string{".conflist"})
	if err != nil {
		return nil
	}
	var out []string
	for _, f := range files {
		if l, err := libcni.ConfListFromFile(f); err == nil {
			out = append(out, l.Name)
		}
	}
	return out
}

// findPlugins checks, before anything is made, that every plugin of list
// is installed, so that a missing one is one clear error.
func findPlugins(list *libcni.NetworkConfigList) error {
	for _, p := range list.Plugins {
		if _, err := invoke.FindInPath(p.Network.Type, pluginPath()); err != nil {
			return fmt.Errorf("network %s: CNI plugin %q not found in %s (install Debian's containernetworking-plugins, or set CNI_PATH; or run with --network host or none): %w",
				list.Name, p.Network.Type, strings.Join(pluginPath(), ":"), errdefs.ErrNotFound)
		}
	}
	return nil
}
