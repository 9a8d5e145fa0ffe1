package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	cgroupsv3 "github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// unifiedRoot is where a v2-only host mounts its hierarchy.
const unifiedRoot = "/sys/fs/cgroup"

// Cgroup is one container's cgroup.
type Cgroup struct {
	path   string // e.g. /ctr-lite/<id>
	v1     cgroup1.Cgroup
	v2     *cgroup2.Manager
	memDir string // directory holding the memory controller's files
}

// Unified reports whether the host runs cgroup v2 only.
func Unified() bool { return cgroupsv3.Mode() == cgroupsv3.Unified }

// New creates the cgroup at path (absolute inside the hierarchy) with the
// given limits.
func New(path string, res *specs.LinuxResources) (*Cgroup, error) {
	if res == nil {
		res = &specs.LinuxResources{}
	}
	path = filepath.Join("/", path)
	c := &Cgroup{path: path}
	switch cgroupsv3.Mode() {
	case cgroupsv3.Unified:
		m, err := cgroup2.NewManager(unifiedRoot, path, cgroup2.ToResources(res))
		if err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", path, err)
		}
		c.v2 = m
		c.memDir = filepath.Join(unifiedRoot, path)
	case cgroupsv3.Legacy, cgroupsv3.Hybrid:
		cg, err := cgroup1.New(cgroup1.StaticPath(path), res)
		if err != nil {
			return nil, fmt.Errorf("create cgroup %s: %w", path, err)
		}
		c.v1 = cg
		for _, s := range cg.Subsystems() {
			if p, ok := s.(interface{ Path(string) string }); ok && s.Name() == cgroup1.Memory {
				c.memDir = p.Path(path)
			}
		}
	default:
		return nil, fmt.Errorf("create cgroup %s: no cgroup hierarchy mounted", path)
	}
	return c, nil
}

// Path is the cgroup's path inside its hierarchy.
func (c *Cgroup) Path() string { return c.path }

// UnifiedDir is the cgroup's directory on a v2 host (for CLONE_INTO_CGROUP),
// or "" on v1.
func (c *Cgroup) UnifiedDir() string {
	if c.v2 == nil {
		return ""
	}
	return filepath.Join(unifiedRoot, c.path)
}

// Add moves a process (all its threads) into the cgroup.
func (c *Cgroup) Add(pid int) error {
	var err error
	if c.v2 != nil {
		err = c.v2.AddProc(uint64(pid))
	} else {
		err = c.v1.Add(cgroup1.Process{Pid: pid})
	}
	if err != nil {
		return fmt.Errorf("add pid %d to cgroup %s: %w", pid, c.path, err)
	}
	return nil
}

// OOMKilled reports whether the kernel's OOM killer killed a process of the
// cgroup (v2 memory.events oom_kill; v1 memory.oom_control oom_kill).
func (c *Cgroup) OOMKilled() bool {
	if c.memDir == "" {
		return false
	}
	file, key := "memory.oom_control", "oom_kill"
	if c.v2 != nil {
		file = "memory.events"
	}
	data, err := os.ReadFile(filepath.Join(c.memDir, file))
	if err != nil {
		return false
	}
	n, _ := field(data, key)
	return n > 0
}

// Delete removes the cgroup; its processes must have exited.
func (c *Cgroup) Delete() error {
	var err error
	if c.v2 != nil {
		err = c.v2.Delete()
	} else {
		err = c.v1.Delete()
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete cgroup %s: %w", c.path, err)
	}
	return nil
}

// Exists reports whether a cgroup exists at path in any hierarchy that
// holds the memory or pids controller (or the unified one).
func Exists(path string) bool {
	path = filepath.Join("/", path)
	if Unified() {
		_, err := os.Stat(filepath.Join(unifiedRoot, path))
		return err == nil
	}
	for _, ctrl := range []string{"memory", "pids", "cpu"} {
		if _, err := os.Stat(filepath.Join(unifiedRoot, ctrl, path)); err == nil {
			return true
		}
	}
	return false
}

// field returns the value of "key N" in a flat-keyed cgroup file.
func field(data []byte, key string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(" "))
		if ok && string(k) == key {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// V1Hierarchies lists the mount options of the host's cgroup v1
// hierarchies (e.g. "cpu,cpuacct", "memory", "name=systemd"), to mount the
// same set inside a container.
func V1Hierarchies() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ... - cgroup cgroup rw,memory
		_, post, ok := bytes.Cut(sc.Bytes(), []byte(" - "))
		if !ok {
			continue
		}
		fields := bytes.Fields(post)
		if len(fields) < 3 || string(fields[0]) != "cgroup" {
			continue
		}
		var opts []string
		for _, o := range bytes.Split(fields[2], []byte(",")) {
			s := string(o)
			if s == "rw" || s == "ro" || s == "xattr" || s == "clone_children" || s == "noprefix" || bytes.HasPrefix(o, []byte("release_agent=")) {
				continue
			}
			opts = append(opts, s)
		}
		if len(opts) > 0 {
			out = append(out, strings.Join(opts, ","))
		}
	}
	return out
}
