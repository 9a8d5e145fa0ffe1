// Package network attaches a container's network namespace to a network,
// and detaches it, through the CNI plugins the system already has (Debian's
// containernetworking-plugins in /usr/lib/cni: bridge, host-local,
// portmap, firewall), driven by libcni from a standard conflist in
// <config>/net.d/. ctr-lite writes no netlink or iptables code of its own.
//
// The default network "ctr-lite" (what `--network bridge` names) is written
// to <config>/net.d/ctr-lite.conflist on first use: bridge ctrlite0 as the
// gateway of 10.89.0.0/24 with IP masquerade, host-local IPAM keeping its
// leases in DefaultIPAMDir (/run/ctr-lite/ipam: the bridge and subnet are
// the host's, so are the leases, whatever the data root), portmap (for -p)
// and firewall.
//
// Attach makes the namespace a bind-mounted nsfs file, <dir>/netns, in the
// container's directory (unshare on a locked thread that is then thrown
// away, the way podman does), keeps a copy of the conflist and libcni's
// cache under <dir>/net, and runs CNI ADD; the runner then joins the
// namespace. Detach runs CNI DEL from what <dir>/net holds, then unmounts
// and removes the netns file: it is safe to run twice, after a half-failed
// ADD, and after kill -9 of everything (by `rm -f` or `gc`), since it needs
// nothing but the container's directory.
//
// Plugins are looked up in $CNI_PATH (colon-separated) when set, otherwise
// in /usr/lib/cni and /opt/cni/bin.
package network
