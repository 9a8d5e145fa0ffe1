package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/network"
	"github.com/ctrlite/ctr-lite/pkg/pipeline"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/rootfs"
	"github.com/ctrlite/ctr-lite/pkg/runner"
	"github.com/ctrlite/ctr-lite/pkg/runner/spec"
	"github.com/ctrlite/ctr-lite/pkg/snapshot"
	"github.com/ctrlite/ctr-lite/pkg/usernet"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Options describe one `run`.
type Options struct {
	Image  reference.Reference
	Name   string
	Remove bool // --rm: delete the container when it exits
	Stdin  bool // -i: pass stdin through (otherwise /dev/null)
	Spec   spec.Options
	Pull   image.PullOptions
	// Runtime is "" for the built-in runner, or "runc" / "crun".
	Runtime string
	// LogMaxSize rotates a detached container's log at this many bytes
	// (--log-opt max-size); 0: never.
	LogMaxSize int64
	// Notice receives one-line messages for the user (fallbacks); may be nil.
	Notice func(string)
	// Ports are -p's mappings, for a CNI network (Spec.Network bridge or
	// a conflist's name).
	Ports []network.Port
	// NetConfDir holds the CNI conflists (network.ConfDir of the config
	// directory).
	NetConfDir string
}

// prepared is a recorded container with its image, from create (or
// reopen) to finish.
type prepared struct {
	img     *image.Image
	c       *container.Container
	layers  []string
	release func() // ends container.Store.Use
}

// Run runs a container in the foreground and returns its exit status, as
// runner.Run does (an error is a *errdefs.ExitError carrying the status).
func Run(ctx context.Context, st *content.Store, f image.Fetcher, opts Options, stdio runner.Stdio) (int, error) {
	if opts.Notice == nil {
		opts.Notice = func(string) {}
	}
	if !opts.Stdin && !opts.Spec.Terminal {
		stdio.In = nil
	}
	cs := container.NewStore(st.Root())
	p, err := create(ctx, st, f, cs, &opts)
	if err != nil {
		return exit125(err)
	}
	// Once the process runs, signals go to it (the runner forwards them):
	// the caller's cancellation on Ctrl-C must not tear the container down.
	ctx = context.WithoutCancel(ctx)
	if err := cs.SetMonitor(ctx, p.c.ID, os.Getpid()); err != nil {
		finish(ctx, cs, p, opts, 125, err)
		return exit125(err)
	}
	code, err := start(ctx, st, cs, p, opts, stdio, nil)
	finish(ctx, cs, p, opts, code, err)
	return code, err
}

// create loads (or pulls) the image, builds its snapshots and records the
// container with its launch options (for the monitor and `start`), all
// under a store lease so gc cannot take them away between. The container
// is in use (container.Store.Use) until p.release is called. The default
// network is chosen here, into opts (see resolveNetwork).
func create(ctx context.Context, st *content.Store, f image.Fetcher, cs *container.Store, opts *Options) (*prepared, error) {
	if opts.Spec.Init && opts.Runtime != "" {
		return nil, fmt.Errorf("--init with --runtime %s: %w: the init is the built-in runner's", opts.Runtime, errdefs.ErrUnsupported)
	}
	if err := resolveNetwork(unprivilegedRoot(st.Root()), opts); err != nil {
		return nil, err
	}
	res, release, err := prepareImage(ctx, st, f, *opts)
	if err != nil {
		return nil, err
	}
	defer release()
	img := res.Image
	if ip, host := img.Platform(), image.HostPlatform(); ip.Architecture != "" && (ip.OS != host.OS || ip.Architecture != host.Architecture) {
		opts.Notice(fmt.Sprintf("warning: %s is a %s image and this machine is %s: its programs may not run (exec format error)", img.Name, ip, host))
	}
	id := container.NewID()
	done, err := cs.Use(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := cs.Create(ctx, container.Container{
		ID: id, Name: opts.Name, Image: img.Name, Command: spec.Command(img.Config.Config, opts.Spec),
		Chains: chainIDs(res.Snapshots), StopSignal: img.Config.Config.StopSignal, Tty: opts.Spec.Terminal,
		Network: opts.Spec.Network,
	})
	if err != nil {
		done()
		return nil, err
	}
	if err := saveOptions(cs.Dir(id), *opts); err != nil {
		done()
		cs.Remove(context.WithoutCancel(ctx), id, false)
		return nil, err
	}
	return &prepared{img: img, c: c, layers: res.Snapshots.Dirs, release: done}, nil
}

// prepareImage makes sure opts' image is stored and its snapshots built,
// under a store lease (gc cannot take them away until release is called).
func prepareImage(ctx context.Context, st *content.Store, f image.Fetcher, opts Options) (res *pipeline.Result, release func(), err error) {
	if release, err = st.Root().Lease(ctx); err != nil {
		return nil, nil, err
	}
	if res, err = pipeline.Prepare(ctx, st, f, opts.Image, pipeline.Options{Pull: opts.Pull}); err != nil {
		release()
		return nil, nil, err
	}
	return res, release, nil
}

func chainIDs(res *snapshot.Result) []string {
	chains := make([]string, len(res.ChainIDs))
	for i, c := range res.ChainIDs {
		chains[i] = c.String()
	}
	return chains
}

// start builds the spec and runs the process until it exits. started,
// when set, is called once it runs (after the record says so).
func start(ctx context.Context, st *content.Store, cs *container.Store, p *prepared, opts Options, stdio runner.Stdio, started func(pid int)) (int, error) {
	img, c, layers := p.img, p.c, p.layers
	running := func(pid int) {
		cs.SetRunning(context.WithoutCancel(ctx), c.ID, pid)
		if started != nil {
			started(pid)
		}
	}
	if opts.Runtime != "" {
		return runRuntime(ctx, cs, img, c, layers, opts, stdio, running, st.Root().UserNS())
	}
	unpriv := unprivilegedRoot(st.Root())
	s, err := spec.Build(img.Config.Config, "", opts.Spec)
	if err != nil {
		return exit125(err)
	}
	if err := attachNetwork(ctx, cs, c, opts, s); err != nil {
		return exit125(err)
	}
	cfg := runner.Config{ID: c.ID, Spec: s, StateDir: cs.Dir(c.ID), Started: running}
	if m := opts.Spec.Network; m == spec.NetworkPasta || m == spec.NetworkSlirp {
		cfg.Network = func(pid int) (func(), error) {
			n, err := usernet.Attach(ctx, m, pid, opts.Ports)
			return n.Stop, err
		}
	}
	if unpriv {
		if err := unprivileged(&cfg, opts); err != nil {
			return exit125(err)
		}
	}
	if !cfg.NoCgroup {
		if err := recordCgroup(ctx, cs, c.ID, runner.SpecCgroupPath(s, c.ID)); err != nil {
			return exit125(err)
		}
	}
	if why := overlayUnavailable(st.Root()); why == "" {
		if s.Root.Path, cfg.RootMounts, err = cs.PrepareOverlay(c.ID, layers); err != nil {
			return exit125(err)
		}
		if st.Root().UserNS() {
			// Opaque markers are user.overlay.opaque (unpack.Options.UserNS).
			cfg.RootMounts[0].Options = append(cfg.RootMounts[0].Options, "userxattr")
		}
	} else {
		opts.Notice("overlayfs cannot be mounted here (" + why + "): running on a copied root filesystem")
		dir := filepath.Join(cs.Dir(c.ID), "rootfs")
		if _, err := os.Stat(filepath.Join(dir, "bin")); err != nil { // not yet copied (`start` keeps it)
			if _, err := rootfs.Flatten(ctx, st, img, dir, rootfs.Options{}); err != nil {
				return exit125(err)
			}
		}
		s.Root.Path = dir
	}
	return runner.Run(ctx, cfg, stdio)
}

// finish records the exit status, ends the use of the container and, with
// --rm, removes it.
func finish(ctx context.Context, cs *container.Store, p *prepared, opts Options, code int, err error) {
	cs.SetExited(ctx, p.c.ID, exitStatus(code, err))
	detachNetwork(ctx, cs, p.c, opts) // before the use ends: gc could race it
	p.release()
	if opts.Remove {
		cs.Remove(ctx, p.c.ID, false)
	}
}

// runRuntime mounts the overlay on the host and runs runc or crun on a
// bundle in the container's directory.
func runRuntime(ctx context.Context, cs *container.Store, img *image.Image, c *container.Container, layers []string, opts Options, stdio runner.Stdio, started func(int), userNS bool) (int, error) {
	dir := cs.Dir(c.ID)
	root, mounts, err := cs.PrepareOverlay(c.ID, layers)
	if err != nil {
		return exit125(err)
	}
	if userNS {
		mounts[0].Options = append(mounts[0].Options, "userxattr")
	}
	if err := unix.Mount("overlay", root, "overlay", 0, strings.Join(mounts[0].Options, ",")); err != nil {
		return exit125(fmt.Errorf("mount rootfs for %s: %w", opts.Runtime, err))
	}
	defer unix.Unmount(root, unix.MNT_DETACH)
	s, err := spec.Build(img.Config.Config, root, opts.Spec)
	if err != nil {
		return exit125(err)
	}
	if err := attachNetwork(ctx, cs, c, opts, s); err != nil {
		return exit125(err)
	}
	if err := runner.WriteBundle(dir, c.ID, s); err != nil {
		return exit125(err)
	}
	// The runtime's pid makes the record running (started): rm refuses
	// it without -f, and fsck leaves its mounted rootfs alone.
	return runner.RunRuntime(ctx, opts.Runtime, dir, c.ID, stdio, started)
}

// recordCgroup notes the container's cgroup in its record before the
// runner makes it, so that rm and gc remove it if ctr-lite cannot.
func recordCgroup(ctx context.Context, cs *container.Store, id, cgroup string) error {
	_, err := cs.Update(ctx, id, func(c *container.Container) error {
		c.Cgroup = cgroup
		return nil
	})
	return err
}

// Bundle writes an OCI runtime bundle for ref into dir: config.json and a
// flattened rootfs/, runnable with `runc run -b DIR ID` or `crun run -b DIR ID`.
//
// As root dir is made mode 0700 (rootfs keeps the image's mode): only root
// can reach the image's setuid files and device nodes, as with umoci.
func Bundle(ctx context.Context, st *content.Store, f image.Fetcher, ref reference.Reference, dir string, so spec.Options, po image.PullOptions) (*specs.Spec, error) {
	if !st.Root().Rootless() {
		if err := rootfs.PrivateDir(dir); err != nil {
			return nil, fmt.Errorf("write bundle %s: %w", dir, err)
		}
	}
	rootDir := filepath.Join(dir, "rootfs")
	res, err := pipeline.Flatten(ctx, st, f, ref, rootDir, pipeline.Options{Pull: po})
	if err != nil {
		return nil, err
	}
	s, err := spec.Build(res.Image.Config.Config, rootDir, so)
	if err != nil {
		return nil, err
	}
	if err := runner.WriteBundle(dir, container.NewID(), s); err != nil {
		return nil, err
	}
	return s, nil
}

func exit125(err error) (int, error) {
	var xe *errdefs.ExitError
	if errors.As(err, &xe) {
		return xe.Code, err
	}
	return 125, &errdefs.ExitError{Code: 125, Err: err}
}

func exitStatus(code int, err error) int {
	var xe *errdefs.ExitError
	if errors.As(err, &xe) {
		return xe.Code
	}
	return code
}
