package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/launch"
	"github.com/ctrlite/ctr-lite/pkg/network"
	"github.com/ctrlite/ctr-lite/pkg/progress"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/runner"
	"github.com/ctrlite/ctr-lite/pkg/runner/spec"
	"github.com/spf13/cobra"
)

func init() { register("run", newRunCmd); register("bundle", newBundleCmd) }

// runFlags are the container flags `run` and `bundle` share.
type runFlags struct {
	so          spec.Options
	entrypoint  string
	memory      string
	shmSize     string
	platform    string
	interactive bool
	publish     []string
	pull        pullLimits
}

func (rf *runFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVarP(&rf.so.Env, "env", "e", nil, "set `KEY=VALUE` (or KEY, copied from here) in the container")
	f.StringArrayVar(&rf.so.EnvFiles, "env-file", nil, "read KEY=VALUE lines from `FILE`")
	f.StringVarP(&rf.so.WorkDir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&rf.so.User, "user", "u", "", "`user[:group]` (names from the container's /etc/passwd and /etc/group)")
	f.StringVar(&rf.entrypoint, "entrypoint", "", "replace the image's entrypoint (and drop its Cmd)")
	f.StringVar(&rf.so.Hostname, "hostname", "", "container host name (default: the short container id)")
	f.StringVar(&rf.so.Network, "network", "", "`NETWORK`: bridge (the default as root: own namespace on the ctr-lite CNI bridge, NAT), host (share the host's network; CAP_NET_RAW only with --cap-add NET_RAW), none (only lo), pasta or slirp4netns (user-mode; the default as an ordinary user: pasta, else slirp4netns, else none), or a CNI network NAME from <config>/net.d")
	f.StringArrayVarP(&rf.publish, "publish", "p", nil, "publish `[IP:]HOST:CONTAINER[/tcp|udp]`: the container's port on the host's (bridge, a CNI network or pasta; repeatable)")
	f.StringArrayVar(&rf.so.DNS, "dns", nil, "nameserver `IP` for the container's resolv.conf (repeatable)")
	f.StringArrayVar(&rf.so.AddHosts, "add-host", nil, "add `HOST:IP` to the container's /etc/hosts (repeatable)")
	f.StringArrayVar(&rf.so.CapAdd, "cap-add", nil, "add a capability (e.g. NET_ADMIN, or ALL)")
	f.StringArrayVar(&rf.so.CapDrop, "cap-drop", nil, "drop a capability (e.g. CHOWN, or ALL)")
	f.BoolVar(&rf.so.Privileged, "privileged", false, "all capabilities, no seccomp filter, no no_new_privs")
	f.StringArrayVar(&rf.so.SecurityOpt, "security-opt", nil, "`OPT`: apparmor=PROFILE|unconfined, no-new-privileges=true|false, seccomp=unconfined|PROFILE.json")
	f.BoolVar(&rf.so.ReadOnly, "read-only", false, "mount the root filesystem read-only")
	f.StringArrayVar(&rf.so.Ulimits, "ulimit", nil, "resource limit `NAME=SOFT[:HARD]` (docker's names: nofile, nproc, core, ...; -1 is unlimited)")
	f.StringArrayVar(&rf.so.GroupAdd, "group-add", nil, "add a supplementary `GROUP` (name from the image's /etc/group, or id)")
	f.StringVar(&rf.shmSize, "shm-size", "", "size of /dev/shm, e.g. 256m (default 64m)")
	f.StringArrayVar(&rf.so.Devices, "device", nil, "add a host device `HOST[:CONTAINER[:PERMS]]`, e.g. /dev/fuse (PERMS: rwm)")
	f.StringArrayVarP(&rf.so.Volumes, "volume", "v", nil, "bind mount `HOST:CONTAINER[:ro]`")
	f.StringArrayVar(&rf.so.Tmpfs, "tmpfs", nil, "mount a tmpfs at `PATH[:options]`")
	f.StringVarP(&rf.memory, "memory", "m", "", "memory limit, e.g. 64m or 1g (OOM kill exits 137)")
	f.Float64Var(&rf.so.CPUs, "cpus", 0, "CPU limit in cores, e.g. 0.5")
	f.Int64Var(&rf.so.PidsLimit, "pids-limit", 0, "most processes the container may have")
	f.StringVar(&rf.so.CgroupParent, "cgroup-parent", "", "parent cgroup (default ctr-lite)")
	f.StringVar(&rf.platform, "platform", "", "platform `os/arch[/variant]` of the image (default: this machine's)")
	rf.pull.add(f)
}

// options resolves the flags that need parsing.
func (rf *runFlags) options(cmd *cobra.Command, args []string) (spec.Options, image.Platform, error) {
	so := rf.so
	so.Args = args
	if cmd.Flags().Changed("entrypoint") {
		ep := strings.Fields(rf.entrypoint)
		so.Entrypoint = &ep
	}
	if rf.memory != "" {
		n, err := parseMemory(rf.memory)
		if err != nil {
			return so, image.Platform{}, err
		}
		so.Memory = n
	}
	if rf.shmSize != "" {
		n, err := parseMemory(rf.shmSize)
		if err != nil {
			return so, image.Platform{}, usageError("--shm-size: %v", err)
		}
		so.ShmSize = n
	}
	p, err := image.ParsePlatform(rf.platform)
	if err != nil {
		return so, p, usageError("%v", err)
	}
	return so, p, nil
}

// ports reads -p for `run` (the default --network, and whether it can
// publish, are launch's to decide: bridge as root, a user-mode network otherwise).
func (rf *runFlags) ports() ([]network.Port, error) {
	var ports []network.Port
	for _, v := range rf.publish {
		p, err := network.ParsePort(v)
		if err != nil {
			return nil, usageError("%v", err)
		}
		ports = append(ports, p)
	}
	return ports, nil // launch checks the network can publish them
}

func newRunCmd(g *globals) *cobra.Command {
	var (
		rf      runFlags
		rm      bool
		detach  bool
		name    string
		runtime string
		logOpts []string
	)
	cmd := &cobra.Command{
		Use:     "run [flags] IMAGE [COMMAND [ARG...]]",
		GroupID: "containers",
		Short:   "Run a command in a new container",
		Long: `Run pulls the image when it is missing, prepares its snapshots, mounts an
overlay of them with a writable layer, and runs the process in the
foreground in new mount, PID, UTS, IPC and cgroup namespaces, with docker's
default capabilities (less NET_RAW on the host's network), no_new_privs and
a default seccomp filter.

As root the container gets a network of its own by default (--network
bridge): a veth into the ctrlite0 bridge, an address from 10.89.0.0/24 and
NAT to the outside, made by the CNI plugins (bridge, host-local, portmap,
firewall in /usr/lib/cni, or $CNI_PATH) from <config>/net.d/ctr-lite.conflist,
written on first use; -p publishes ports there. Any other conflist in
<config>/net.d is used by its name. /etc/hosts maps the hostname (and
--name) to the container's address; resolv.conf has the host's
nameservers (not its loopback ones), or --dns. Everything is undone when
the container ends, or by rm -f / gc after a crash.

With -d the container runs in the background: run prints its id once the
process runs and returns. A monitor (ctr-lite itself, in a session of its
own, no daemon) stays with it: it writes its output to a log (see logs,
rotated at --log-opt max-size), records its exit status and tears it down
(and removes it with --rm). With -it -d, attach connects to its terminal.

As an ordinary user, run re-executes itself as root of a user namespace
(container root is you, your /etc/subuid range maps the image's other
owners), the default network is pasta or slirp4netns, and without a
delegated cgroup v2 subtree there is no cgroup: limit flags are refused.
See the README's Rootless section.

With --init, PID 1 is a small init (ctr-lite's own binary, confined exactly
as the command: same user, capabilities, no_new_privs and seccomp filter)
that runs the command as its child, forwards the signals it gets to it
(so SIGTERM from stop or kill reaches a command that installs no handler)
and reaps orphaned processes, as docker's --init (tini) does. Not with
--runtime runc|crun.

The exit status is the process's own (128+N when killed by signal N, 137
when killed for memory). 125 means ctr-lite itself failed, 126 that the
command cannot be executed, 127 that it was not found; run -d exits with
them too when the container cannot start.`,
		Example: `  ctr-lite run -it --rm alpine sh
  ctr-lite run -d --name web --log-opt max-size=10m busybox httpd -f -v
  ctr-lite run -dit --name box busybox sh && ctr-lite attach box
  ctr-lite run --rm -e GREETING=hi busybox sh -c 'echo $GREETING'
  ctr-lite run --rm -p 8080:80 busybox httpd -f -h /etc
  ctr-lite run --rm -p 127.0.0.1:5353:53/udp --dns 192.0.2.1 --add-host db:10.89.0.5 alpine ./serve
  ctr-lite run --rm --network host alpine ip addr
  ctr-lite run -d --init --name job busybox sleep 1000 && ctr-lite stop job
  ctr-lite run --rm --memory 64m --pids-limit 100 --network none alpine ./job
  ctr-lite run --rm -v "$PWD:/src:ro" -w /src golang:1.23 go test ./...
  ctr-lite run --runtime crun --rm alpine true`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeImages(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			so, p, err := rf.options(cmd, args[1:])
			if err != nil {
				return &errdefs.ExitError{Code: 125, Err: err}
			}
			ports, err := rf.ports()
			if err != nil {
				return &errdefs.ExitError{Code: 125, Err: err}
			}
			if runtime != "" && runtime != "runc" && runtime != "crun" {
				return &errdefs.ExitError{Code: 125, Err: fmt.Errorf("--runtime %q: want runc or crun", runtime)}
			}
			st, rc, err := g.clients()
			if err != nil {
				return &errdefs.ExitError{Code: 125, Err: err}
			}
			ref, err := reference.Parse(args[0])
			if err != nil {
				return &errdefs.ExitError{Code: 125, Err: err}
			}
			maxSize, err := parseLogOpts(logOpts)
			if err != nil {
				return err
			}
			opts := launch.Options{
				Image: ref, Name: name, Remove: rm, Stdin: rf.interactive, Spec: so, Runtime: runtime, LogMaxSize: maxSize,
				Ports: ports, NetConfDir: network.ConfDir(g.config),
				Pull:   rf.pull.apply(image.PullOptions{Platform: p, Progress: progress.Auto(cmd.ErrOrStderr(), false)}),
				Notice: func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), "ctr-lite:", s) },
			}
			if detach {
				mon, err := g.monitorCmd()
				if err != nil {
					return &errdefs.ExitError{Code: 125, Err: err}
				}
				id, err := launch.RunDetached(cmd.Context(), st, rc, opts, mon)
				if err != nil {
					return err // an *errdefs.ExitError: 125, 126, 127
				}
				fmt.Fprintln(cmd.OutOrStdout(), id)
				return nil
			}
			code, err := launch.Run(cmd.Context(), st, rc, opts,
				runner.Stdio{In: cmd.InOrStdin(), Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr()})
			var xe *errdefs.ExitError
			if errors.As(err, &xe) {
				return xe // the runner's status: 125, 126, 127, 137
			}
			if err != nil {
				return &errdefs.ExitError{Code: 125, Err: err}
			}
			if code != 0 {
				return &errdefs.ExitError{Code: code}
			}
			return nil
		},
	}
	rf.add(cmd)
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after IMAGE belong to the command
	f.BoolVarP(&rf.interactive, "interactive", "i", false, "keep stdin open")
	f.BoolVarP(&rf.so.Terminal, "tty", "t", false, "allocate a pseudo-terminal")
	f.BoolVar(&rf.so.Init, "init", false, "run an init as PID 1 that runs the command, forwards signals to it and reaps zombies (not with --runtime)")
	f.BoolVar(&rm, "rm", false, "remove the container when it exits")
	f.BoolVarP(&detach, "detach", "d", false, "run in the background and print the container id")
	f.StringArrayVar(&logOpts, "log-opt", nil, "log option of a detached container: `max-size=SIZE` (e.g. 10m; one rotated file is kept)")
	f.StringVar(&name, "name", "", "name the container")
	f.StringVar(&runtime, "runtime", "", "run with an external OCI runtime: runc or crun")
	cmd.RegisterFlagCompletionFunc("network", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		names := []string{spec.NetworkBridge, spec.NetworkHost, spec.NetworkNone, spec.NetworkPasta, spec.NetworkSlirp}
		for _, n := range network.Names(network.ConfDir(g.config)) {
			if n != network.Default {
				names = append(names, n)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func newBundleCmd(g *globals) *cobra.Command {
	var rf runFlags
	cmd := &cobra.Command{
		Use:     "bundle [flags] IMAGE DIR [COMMAND [ARG...]]",
		GroupID: "containers",
		Short:   "Write an OCI runtime bundle (config.json + rootfs) for runc or crun",
		Long: `Bundle writes DIR/config.json, with the same defaults as run, and the
flattened image into DIR/rootfs, so that 'runc run -b DIR ID' or
'crun run -b DIR ID' runs the image as 'ctr-lite run' would.

As root, DIR is made mode 0700 (rootfs keeps the image's mode): the image's
setuid-root files and device nodes are reachable by root only, as with umoci.`,
		Example: `  ctr-lite bundle alpine ./alpine-bundle && runc run -b ./alpine-bundle demo
  ctr-lite bundle --memory 64m busybox ./b sh -c 'echo hi'`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			so, p, err := rf.options(cmd, args[2:])
			if err != nil {
				return err
			}
			if (so.Network != "" && so.Network != spec.NetworkHost && so.Network != spec.NetworkNone) || len(rf.publish) > 0 {
				return usageError("bundle: --network %s and -p need `ctr-lite run` (nothing attaches a bundle's network): use host or none", so.Network)
			}
			st, rc, err := g.clients()
			if err != nil {
				return err
			}
			ref, err := reference.Parse(args[0])
			if err != nil {
				return err
			}
			if _, err := launch.Bundle(cmd.Context(), st, rc, ref, args[1], so,
				rf.pull.apply(image.PullOptions{Platform: p, Progress: progress.Auto(cmd.ErrOrStderr(), false)})); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s/config.json and %s/rootfs\n", args[1], args[1])
			return nil
		},
	}
	rf.add(cmd)
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// parseMemory reads docker's memory sizes: a number of bytes with an
// optional b, k, m or g suffix (binary units).
func parseMemory(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "k"), strings.HasSuffix(t, "kb"):
		mult = 1 << 10
	case strings.HasSuffix(t, "m"), strings.HasSuffix(t, "mb"):
		mult = 1 << 20
	case strings.HasSuffix(t, "g"), strings.HasSuffix(t, "gb"):
		mult = 1 << 30
	}
	t = strings.TrimRight(t, "kmgb")
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, usageError("--memory %q: want a size such as 64m or 1g", s)
	}
	return n * mult, nil
}
