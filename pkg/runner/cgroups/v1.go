package cgroups

import (
	"fmt"
	"github.com/moby/sys/mountinfo"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hierarchy is one mounted cgroup v1 hierarchy.
type hierarchy struct {
	dir  string   // mount point, e.g. /sys/fs/cgroup/memory
	opts []string // controllers and name=, e.g. ["cpu", "cpuacct"]
}

func (h hierarchy) has(ctrl string) bool { return slices.Contains(h.opts, ctrl) }

// V1Hierarchies lists the mount options of the host's cgroup v1
// hierarchies (e.g. "cpu,cpuacct", "memory", "name=systemd"), to mount the
// same set inside a container.
func V1Hierarchies() []string {
	var out []string
	for _, h := range v1Mounts() {
		out = append(out, strings.Join(h.opts, ","))
	}
	return out
}

// v1Mounts reads the cgroup v1 mounts of /proc/self/mountinfo.
func v1Mounts() []hierarchy {
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup"))
	if err != nil {
		return nil
	}
	var out []hierarchy
	for _, m := range mounts {
		var opts []string
		for _, o := range strings.Split(m.VFSOptions, ",") {
			if o == "rw" || o == "ro" || o == "xattr" || o == "clone_children" || o == "noprefix" || strings.HasPrefix(o, "release_agent=") {
				continue
			}
			opts = append(opts, o)
		}
		if len(opts) > 0 {
			out = append(out, hierarchy{dir: m.Mountpoint, opts: opts})
		}
	}
	return out
}

// createV1 makes the cgroup in every v1 hierarchy and writes its limits.
func (c *Cgroup) createV1(res *specs.LinuxResources) error {
	hs := v1Mounts()
	if len(hs) == 0 {
		return fmt.Errorf("no cgroup hierarchy mounted")
	}
	dirOf := map[string]string{} // controller -> the cgroup's directory
	for _, h := range hs {
		dir := filepath.Join(h.dir, c.path)
		var made func(string) error
		if h.has("cpuset") {
			made = inheritCpuset
		}
		if err := mkdirAll(h.dir, dir, made); err != nil {
			return err
		}
		c.dirs = append(c.dirs, dir)
		c.hier = append(c.hier, h)
		for _, o := range h.opts {
			dirOf[o] = dir
		}
	}
	c.memDir = dirOf["memory"]
	var sets []setting
	if m := res.Memory; m != nil {
		sets = append(sets,
			setting{"memory", "memory.limit_in_bytes", m.Limit},
			setting{"memory", "memory.memsw.limit_in_bytes", m.Swap},
			setting{"memory", "memory.soft_limit_in_bytes", m.Reservation})
	}
	if cpu := res.CPU; cpu != nil {
		sets = append(sets,
			setting{"cpu", "cpu.shares", cpu.Shares},
			setting{"cpu", "cpu.cfs_period_us", cpu.Period},
			setting{"cpu", "cpu.cfs_quota_us", cpu.Quota},
			setting{"cpuset", "cpuset.cpus", cpu.Cpus},
			setting{"cpuset", "cpuset.mems", cpu.Mems})
	}
	if p := res.Pids; p != nil {
		if p.Limit != nil && *p.Limit > 0 {
			c.pidsLimit = *p.Limit
		}
		sets = append(sets, setting{"pids", "pids.max", pidsMax(p.Limit)})
	}
	for _, s := range sets {
		val, ok := s.value()
		if !ok {
			continue
		}
		dir := dirOf[s.ctrl]
		if dir == "" {
			return fmt.Errorf("set %s: no %s cgroup hierarchy mounted", s.file, s.ctrl)
		}
		if err := write(dir, s.file, val); err != nil {
			return err
		}
	}
	if len(res.Devices) > 0 {
		if dirOf["devices"] == "" {
			return fmt.Errorf("device rules: no devices cgroup hierarchy mounted")
		}
		return writeDeviceRules(dirOf["devices"], res.Devices)
	}
	return nil
}

// inheritCpuset fills a new cpuset cgroup's cpus and mems from its parent:
// v1 refuses tasks in a cpuset cgroup where they are empty.
func inheritCpuset(dir string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), f))
		if err != nil {
			return fmt.Errorf("read parent cpuset: %w", err)
		}
		if err := write(dir, f, strings.TrimSpace(string(b))); err != nil {
			return err
		}
	}
	return nil
}

// setting is one limit: a value for a controller's file, when set.
type setting struct {
	ctrl, file string
	val        any // *int64, *uint64, string or nil
}

func (s setting) value() (string, bool) {
	switch v := s.val.(type) {
	case *int64:
		if v != nil {
			return strconv.FormatInt(*v, 10), true
		}
	case *uint64:
		if v != nil {
			return strconv.FormatUint(*v, 10), true
		}
	case string:
		return v, v != ""
	}
	return "", false
}

// pidsMax is the pids.max value for a limit: "max" when 0 or less.
func pidsMax(limit *int64) string {
	if limit == nil || *limit <= 0 {
		return "max"
	}
	return strconv.FormatInt(*limit, 10)
}
