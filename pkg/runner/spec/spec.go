package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctrlite/ctr-lite/pkg/runner/seccomp"
)

// AnnotationCgroupParent carries --cgroup-parent to the runner.
const AnnotationCgroupParent = "io.ctr-lite.cgroup-parent"

// AnnotationUser carries an unresolved user[:group] when Build had no
// rootfs to read: the runner resolves it inside the container, against the
// mounted root's /etc/passwd and /etc/group, and sets HOME when missing.
const AnnotationUser = "io.ctr-lite.user"

// AnnotationInit ("true") carries --init: the runner's init reaper is the
// container's PID 1 and runs the command as its child.
const AnnotationInit = "io.ctr-lite.init"

// SpecVersion is the runtime-spec version written into specs: the oldest
// that has every field Build sets, so crun 1.8 and runc 1.1 accept bundles.
const SpecVersion = "1.0.2"

// DefaultPath is PATH when the image sets none (docker's value).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options are the user's `run` flags.
type Options struct {
	Args       []string  // COMMAND: replaces the image's Cmd when non-empty
	Entrypoint *[]string // --entrypoint: replaces the image's Entrypoint (and drops its Cmd) when non-nil
	Env        []string  // -e K=V (or K alone: copied from the caller's environment)
	EnvFiles   []string  // --env-file
	WorkDir    string    // -w
	User       string    // -u user[:group]
	Hostname   string    // --hostname (the runner defaults it to the short container id)
	Terminal   bool      // -t
	// Network is "host" (default), "none", or a network of its own
	// ("bridge", a CNI network's name, or a user-mode network: "pasta",
	// "slirp4netns"): see setNetwork.
	Network    string
	DNS        []string // --dns servers
	AddHosts   []string // --add-host HOST:IP
	CapAdd     []string
	CapDrop    []string
	Privileged bool
	// SecurityOpt are --security-opt values: apparmor=, no-new-privileges,
	// seccomp=unconfined|FILE.
	SecurityOpt []string
	Ulimits     []string // --ulimit NAME=SOFT[:HARD]
	GroupAdd    []string // --group-add GROUP (name or id)
	ShmSize     int64    // --shm-size in bytes, 0 = docker's 64 MiB
	Devices     []string // --device HOST[:CONTAINER[:PERMS]]
	ReadOnly    bool
	Volumes     []string // HOST:CTR[:ro|rw]
	Tmpfs       []string // PATH[:opts]
	Memory      int64    // bytes, 0 = unlimited
	CPUs        float64  // 0 = unlimited
	PidsLimit   int64    // 0 = unlimited
	// CgroupParent is the cgroup under which the container's own cgroup is
	// made (default "ctr-lite").
	CgroupParent string
	// Init (--init) makes a small init PID 1: it runs the command as its
	// child, forwards signals to it and reaps zombies (AnnotationInit).
	Init bool
}

// Build returns the runtime-spec for running img from rootfs with opts.
// rootfs is the directory the process will see as / (it becomes
// Root.Path); its /etc/passwd and /etc/group are read to resolve users.
//
// With rootfs "" (e.g. an overlay snapshot that is only mounted inside the
// container's mount namespace), Root.Path is left for the caller to set and
// the user is resolved by the runner inside the container (AnnotationUser).
func Build(img ocispec.ImageConfig, rootfs string, opts Options) (*specs.Spec, error) {
	args := Command(img, opts)
	if len(args) == 0 {
		return nil, ErrNoCommand
	}
	env, err := buildEnv(img.Env, opts.EnvFiles, opts.Env)
	if err != nil {
		return nil, err
	}
	userSpec := opts.User
	if userSpec == "" {
		userSpec = img.User
	}
	deferUser := rootfs == ""
	var u resolved
	if !deferUser {
		if u, err = resolveUser(rootfs, userSpec); err != nil {
			return nil, err
		}
	}
	if envGet(env, "PATH") == "" {
		env = envSet(env, "PATH", DefaultPath)
	}
	if envGet(env, "HOME") == "" && !deferUser {
		env = envSet(env, "HOME", u.home)
	}
	if opts.Terminal && envGet(env, "TERM") == "" {
		env = envSet(env, "TERM", "xterm")
	}
	if opts.Hostname != "" {
		env = envSet(env, "HOSTNAME", opts.Hostname)
	}
	cwd := opts.WorkDir
	if cwd == "" {
		cwd = img.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	if !strings.HasPrefix(cwd, "/") {
		return nil, fmt.Errorf("%w: working directory %q is not absolute", ErrInvalidOption, cwd)
	}
	caps, err := capSet(opts.Network, opts.Privileged, opts.CapAdd, opts.CapDrop)
	if err != nil {
		return nil, err
	}
	s := &specs.Spec{
		Version:  SpecVersion,
		Hostname: opts.Hostname,
		Root:     &specs.Root{Path: rootfs, Readonly: opts.ReadOnly},
		Process: &specs.Process{
			Terminal: opts.Terminal,
			User:     specs.User{UID: u.uid, GID: u.gid, AdditionalGids: u.groups},
			Args:     args,
			Env:      env,
			Cwd:      cwd,
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			NoNewPrivileges: !opts.Privileged,
		},
		Annotations: map[string]string{},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
			},
			Resources: &specs.LinuxResources{Devices: deviceRules(opts.Privileged)},
		},
	}
	if opts.CgroupParent != "" {
		s.Annotations[AnnotationCgroupParent] = opts.CgroupParent
	}
	if opts.Init {
		s.Annotations[AnnotationInit] = "true"
	}
	if deferUser {
		s.Annotations[AnnotationUser] = userSpec
		if len(opts.GroupAdd) > 0 {
			s.Annotations[AnnotationGroupAdd] = strings.Join(opts.GroupAdd, ",")
		}
	} else if gids, err := AdditionalGroupsIn(rootfs, opts.GroupAdd); err != nil {
		return nil, err
	} else {
		s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, gids...)
	}
	if s.Process.Rlimits, err = parseUlimits(opts.Ulimits); err != nil {
		return nil, err
	}
	if err := addDevices(s, opts.Devices); err != nil {
		return nil, err
	}
	if err := setNetwork(s, opts); err != nil {
		return nil, err
	}
	if !opts.Privileged {
		s.Linux.MaskedPaths = slicesClone(MaskedPaths)
		s.Linux.ReadonlyPaths = slicesClone(ReadonlyPaths)
		s.Linux.Seccomp = seccomp.Default(caps)
	}
	if err := applySecurityOpts(s, opts.Privileged, opts.SecurityOpt); err != nil {
		return nil, err
	}
	if err := setResources(s.Linux.Resources, opts); err != nil {
		return nil, err
	}
	mounts, err := buildMounts(opts)
	if err != nil {
		return nil, err
	}
	s.Mounts = mounts
	return s, nil
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// Command is the command line a container of img runs, docker's way:
// the image's Entrypoint followed by its Cmd; opts.Args replace the Cmd,
// and opts.Entrypoint, when set, replaces the Entrypoint and drops the
// image's Cmd.
func Command(img ocispec.ImageConfig, opts Options) []string {
	entry, cmd := img.Entrypoint, img.Cmd
	if opts.Entrypoint != nil {
		entry, cmd = *opts.Entrypoint, nil
	}
	if len(opts.Args) > 0 {
		cmd = opts.Args
	}
	return append(append([]string(nil), entry...), cmd...)
}

func setResources(r *specs.LinuxResources, opts Options) error {
	if opts.Memory < 0 || opts.CPUs < 0 || opts.PidsLimit < 0 {
		return fmt.Errorf("%w: negative limit", ErrInvalidOption)
	}
	if opts.Memory > 0 {
		if opts.Memory < 6*1024*1024 {
			return fmt.Errorf("%w: --memory %d is below the 6MiB minimum", ErrInvalidOption, opts.Memory)
		}
		limit := opts.Memory
		r.Memory = &specs.LinuxMemory{Limit: &limit}
	}
	if opts.CPUs > 0 {
		period := uint64(100000)
		quota := int64(math.Round(opts.CPUs * float64(period)))
		if quota < 1000 {
			return fmt.Errorf("%w: --cpus %s is too small", ErrInvalidOption, strconv.FormatFloat(opts.CPUs, 'f', -1, 64))
		}
		r.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	if opts.PidsLimit > 0 {
		limit := opts.PidsLimit
		r.Pids = &specs.LinuxPids{Limit: &limit}
	}
	return nil
}

// deviceRules denies every device but the ones /dev holds (docker's
// default cgroup device rules); privileged containers may use any.
func deviceRules(privileged bool) []specs.LinuxDeviceCgroup {
	if privileged {
		return []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}
	c := func(t string, major, minor int64, access string) specs.LinuxDeviceCgroup {
		d := specs.LinuxDeviceCgroup{Allow: true, Type: t, Access: access}
		if major >= 0 {
			d.Major = &major
		}
		if minor >= 0 {
			d.Minor = &minor
		}
		return d
	}
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		c("c", -1, -1, "m"), c("b", -1, -1, "m"),
		c("c", 1, 3, "rwm"), c("c", 1, 5, "rwm"), c("c", 1, 7, "rwm"), // null zero full
		c("c", 1, 8, "rwm"), c("c", 1, 9, "rwm"), // random urandom
		c("c", 5, 0, "rwm"), c("c", 5, 1, "rwm"), c("c", 5, 2, "rwm"), // tty console ptmx
		c("c", 136, -1, "rwm"), // pts
		c("c", 10, 200, "rwm"), // tun
	}
}
