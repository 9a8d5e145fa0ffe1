package spec

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// MaskedPaths are runc's (and docker's) default masked paths.
var MaskedPaths = []string{
	"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
}

// ReadonlyPaths are runc's (and docker's) default read-only paths.
var ReadonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// defaultMounts mirrors runc's default spec (plus docker's /dev/shm size).
func defaultMounts(privileged bool, shmSize int64) []specs.Mount {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	cgOpts := []string{"nosuid", "noexec", "nodev", "relatime", "ro"}
	if privileged {
		sysOpts = sysOpts[:3]
		cgOpts = cgOpts[:4]
	}
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", shmOption(shmSize)}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgOpts},
	}
}

func buildMounts(opts Options) ([]specs.Mount, error) {
	m := defaultMounts(opts.Privileged, opts.ShmSize)
	for _, v := range opts.Volumes {
		bm, err := ParseVolume(v)
		if err != nil {
			return nil, err
		}
		m = append(m, bm)
	}
	for _, t := range opts.Tmpfs {
		dst, o, _ := strings.Cut(t, ":")
		if !path.IsAbs(dst) {
			return nil, fmt.Errorf("%w: --tmpfs %q: path must be absolute", ErrInvalidOption, t)
		}
		options := []string{"nosuid", "nodev", "noexec"}
		if o != "" {
			options = append(options, strings.Split(o, ",")...)
		}
		m = append(m, specs.Mount{Destination: path.Clean(dst), Type: "tmpfs", Source: "tmpfs", Options: options})
	}
	return m, nil
}

// ParseVolume parses -v HOST:CTR[:ro|rw] into a recursive private bind
// mount. HOST must be absolute (named volumes are not supported).
func ParseVolume(v string) (specs.Mount, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return specs.Mount{}, fmt.Errorf("%w: -v %q: want HOST:CONTAINER[:ro]", ErrInvalidOption, v)
	}
	host, ctr := parts[0], parts[1]
	if !filepath.IsAbs(host) {
		return specs.Mount{}, fmt.Errorf("%w: -v %q: host path must be absolute (named volumes are not supported)", ErrInvalidOption, v)
	}
	if !path.IsAbs(ctr) || path.Clean(ctr) == "/" {
		return specs.Mount{}, fmt.Errorf("%w: -v %q: container path must be absolute and not /", ErrInvalidOption, v)
	}
	options := []string{"rbind", "rprivate"}
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro", "rw":
				options = append(options, o)
			case "":
			default:
				return specs.Mount{}, fmt.Errorf("%w: -v %q: unknown option %q", ErrInvalidOption, v, o)
			}
		}
	}
	return specs.Mount{Destination: path.Clean(ctr), Type: "bind", Source: filepath.Clean(host), Options: options}, nil
}
