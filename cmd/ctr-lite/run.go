package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/launch"
	"github.com/ctrlite/ctr-lite/pkg/progress"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/runner"
	"github.com/ctrlite/ctr-lite/pkg/runner/spec"
	"github.com/ctrlite/ctr-lite/pkg/usernet"
	"github.com/spf13/cobra"
)

func init() { register(newRunCmd); register(newBundleCmd) }

// runFlags are the container flags `run` and `bundle` share.
type runFlags struct {
	so          spec.Options
	entrypoint  string
	memory      string
	shmSize     string
	platform    string
	interactive bool
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
	f.StringVar(&rf.so.Network, "network", "", "`host` (share the host's network; CAP_NET_RAW only with --cap-add NET_RAW), none (only lo), or a user-mode network: pasta or slirp4netns (default: host as root; as an ordinary user pasta, else slirp4netns, else none)")
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
	switch so.Network {
	case "", "host", "none", "pasta", "slirp4netns":
	default:
		return so, image.Platform{}, usageError("--network %q: want host, none, pasta or slirp4netns", so.Network)
	}
	p, err := image.ParsePlatform(rf.platform)
	if err != nil {
		return so, p, usageError("%v", err)
	}
	return so, p, nil
}

func newRunCmd(g *globals) *cobra.Command {
	var (
		rf      runFlags
		rm      bool
		name    string
		runtime string
		publish []string
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

As an ordinary user, run re-executes itself as root of a user namespace
(container root is you, your /etc/subuid range maps the image's other
owners), the default network is pasta or slirp4netns, and without a
delegated cgroup v2 subtree there is no cgroup: limit flags are refused.
See the README's Rootless section.

The exit status is the process's own (128+N when killed by signal N, 137
when killed for memory). 125 means ctr-lite itself failed, 126 that the
command cannot be executed, 127 that it was not found.`,
		Example: `  ctr-lite run -it --rm alpine sh
  ctr-lite run --rm -e GREETING=hi busybox sh -c 'echo $GREETING'
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
			if runtime != "" && runtime != "runc" && runtime != "crun" {
				return &errdefs.ExitError{Code: 125, Err: fmt.Errorf("--runtime %q: want runc or crun", runtime)}
			}
			var ports []usernet.Port
			for _, p := range publish {
				pp, err := usernet.ParsePort(p)
				if err != nil {
					return &errdefs.ExitError{Code: 125, Err: err}
				}
				ports = append(ports, pp)
			}
			st, rc, err := g.clients()
			if err != nil {
				return &errdefs.ExitError{Code: 125, Err: err}
			}
			ref, err := reference.Parse(args[0])
			if err != nil {
				return &errdefs.ExitError{Code: 125, Err: err}
			}
			code, err := launch.Run(cmd.Context(), st, rc, launch.Options{
				Image: ref, Name: name, Remove: rm, Stdin: rf.interactive, Spec: so, Runtime: runtime, Publish: ports,
				Pull:   rf.pull.apply(image.PullOptions{Platform: p, Progress: progress.Auto(cmd.ErrOrStderr(), false)}),
				Notice: func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), "ctr-lite:", s) },
			}, runner.Stdio{In: cmd.InOrStdin(), Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr()})
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
	f.BoolVar(&rm, "rm", false, "remove the container when it exits")
	f.StringVar(&name, "name", "", "name the container")
	f.StringVar(&runtime, "runtime", "", "run with an external OCI runtime: runc or crun")
	f.StringArrayVarP(&publish, "publish", "p", nil, "publish a port `[IP:]HOST:CONTAINER[/tcp|/udp]` from the host (with --network pasta, the default as an ordinary user)")
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
