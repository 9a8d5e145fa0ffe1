package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// unifiedRoot is where the hierarchies are mounted; a v2-only host mounts
// its one hierarchy there. Tests point it at a hybrid host's cgroup2 mount.
var unifiedRoot = "/sys/fs/cgroup"

// Cgroup is one container's cgroup.
type Cgroup struct {
	path   string   // e.g. /ctr-lite/<id>
	dirs   []string // the cgroup's directory in each hierarchy it is in
	v2     bool
	memDir string // directory holding the memory controller's files
	// v1: the hierarchy of each of dirs, and the pids limit (0: none;
	// -1: unknown), for Enter. opened: made by Open (a running
	// container's, which has processes already).
	hier      []hierarchy
	pidsLimit int64
	opened    bool
}

// Unified reports whether the host runs cgroup v2 only.
func Unified() bool {
	var st unix.Statfs_t
	return unix.Statfs(unifiedRoot, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// New creates the cgroup at path (absolute inside the hierarchy) with the
// given limits. Resources it cannot set are refused (errdefs.ErrUnsupported).
func New(path string, res *specs.LinuxResources) (*Cgroup, error) {
	if res == nil {
		res = &specs.LinuxResources{}
	}
	path = filepath.Join("/", path)
	if err := supported(res); err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	c := &Cgroup{path: path, v2: Unified()}
	var err error
	if c.v2 {
		err = c.createV2(res)
	} else {
		err = c.createV1(res)
	}
	if err != nil {
		_ = c.Delete()
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	return c, nil
}

// Open returns the existing cgroup at path, in every hierarchy it was made
// in (the unified one, or each v1 hierarchy holding its directory), to add
// more processes to it (`exec`). It is errdefs.ErrNotFound when no
// directory of it is left. Open leaves memDir unset: OOMKilled is false.
func Open(path string) (*Cgroup, error) {
	c := &Cgroup{path: filepath.Join("/", path), v2: Unified(), opened: true}
	if c.path == "/" {
		return nil, fmt.Errorf("open cgroup %q: not a container's cgroup", path)
	}
	if c.v2 {
		if d := filepath.Join(unifiedRoot, c.path); isDir(d) {
			c.dirs = append(c.dirs, d)
		}
	} else {
		for _, h := range v1Mounts() {
			d := filepath.Join(h.dir, c.path)
			if !isDir(d) {
				continue
			}
			c.dirs, c.hier = append(c.dirs, d), append(c.hier, h)
			if h.has("pids") {
				c.pidsLimit = openPidsLimit(d)
			}
		}
	}
	if len(c.dirs) == 0 {
		return nil, fmt.Errorf("open cgroup %s: %w", c.path, errdefs.ErrNotFound)
	}
	return c, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// openPidsLimit is the pids limit of a running container's cgroup
// directory dir, for Enter: 0 for none ("max"), -1 when it cannot be read.
func openPidsLimit(dir string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, "pids.max"))
	if err != nil {
		return -1
	}
	v := strings.TrimSpace(string(b))
	if v == "max" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// supported refuses the resources this package does not set.
func supported(res *specs.LinuxResources) error {
	var unset []string
	if m := res.Memory; m != nil && (m.KernelTCP != nil || m.Swappiness != nil || m.DisableOOMKiller != nil || m.UseHierarchy != nil || m.CheckBeforeUpdate != nil) {
		unset = append(unset, "memory")
	}
	if c := res.CPU; c != nil && (c.RealtimeRuntime != nil || c.RealtimePeriod != nil || c.Burst != nil || c.Idle != nil) {
		unset = append(unset, "cpu")
	}
	if res.BlockIO != nil {
		unset = append(unset, "blockIO")
	}
	if len(res.HugepageLimits) > 0 {
		unset = append(unset, "hugepageLimits")
	}
	if res.Network != nil {
		unset = append(unset, "network")
	}
	if len(res.Rdma) > 0 {
		unset = append(unset, "rdma")
	}
	if len(res.Unified) > 0 {
		unset = append(unset, "unified")
	}
	if len(unset) > 0 {
		return fmt.Errorf("resources %s: %w", strings.Join(unset, ", "), errdefs.ErrUnsupported)
	}
	return nil
}

// None is no cgroup: the container stays in the caller's (a rootless run
// where no cgroup can be made). Its methods do nothing.
func None() *Cgroup { return &Cgroup{} }

// Path is the cgroup's path inside its hierarchy.
func (c *Cgroup) Path() string { return c.path }

// UnifiedDir is the cgroup's directory on a v2 host (for CLONE_INTO_CGROUP),
// or "" on v1.
func (c *Cgroup) UnifiedDir() string {
	if !c.v2 {
		return ""
	}
	return filepath.Join(unifiedRoot, c.path)
}

// Add moves a process (all its threads) into the cgroup.
func (c *Cgroup) Add(pid int) error {
	for _, d := range c.dirs {
		if err := write(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("add pid %d to cgroup %s: %w", pid, c.path, err)
		}
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
	if c.v2 {
		file = "memory.events"
	}
	data, err := os.ReadFile(filepath.Join(c.memDir, file))
	if err != nil {
		return false
	}
	n, _ := field(data, key)
	return n > 0
}

// Delete removes the cgroup; its processes must have exited. The kernel
// may still be tearing a process down (EBUSY): it retries for a while.
func (c *Cgroup) Delete() error {
	var errs []error
	for _, d := range c.dirs {
		err := unix.Rmdir(d)
		for i := 0; err == unix.EBUSY && i < 50; i++ {
			time.Sleep(10 * time.Millisecond)
			err = unix.Rmdir(d)
		}
		if err != nil && err != unix.ENOENT {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete cgroup %s: %w", c.path, err)
	}
	return nil
}

// Remove deletes the cgroup at path in every hierarchy, as Delete does for
// the cgroup New made: for the directories of a ctr-lite that was killed
// before it could delete them. A cgroup that is already gone is fine; one
// that still has processes is an error.
func Remove(path string) error {
	c := &Cgroup{path: filepath.Join("/", path)}
	if c.path == "/" {
		return fmt.Errorf("remove cgroup %q: not a container's cgroup", path)
	}
	c.dirs = dirsOf(c.path)
	return c.Delete()
}

// dirsOf is where the cgroup at path (absolute) lives: in the unified
// hierarchy, or in each v1 hierarchy.
func dirsOf(path string) []string {
	if Unified() {
		return []string{filepath.Join(unifiedRoot, path)}
	}
	var dirs []string
	for _, h := range v1Mounts() {
		dirs = append(dirs, filepath.Join(h.dir, path))
	}
	return dirs
}

// Exists reports whether a cgroup directory is left at path in any
// hierarchy (the unified one, or any v1 hierarchy New makes it in): what
// the tests check after Delete and Remove.
func Exists(path string) bool {
	for _, d := range dirsOf(filepath.Join("/", path)) {
		if _, err := os.Stat(d); err == nil {
			return true
		}
	}
	return false
}

// mkdirAll makes dir and its missing parents below root; each directory it
// makes is passed to made (e.g. to fill in cpuset files).
func mkdirAll(root, dir string, made func(dir string) error) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("mkdir %s: not below %s", dir, root)
	}
	cur := root
	for _, c := range strings.Split(rel, "/") {
		cur = filepath.Join(cur, c)
		err := unix.Mkdir(cur, 0o755)
		if err == unix.EEXIST {
			continue
		}
		if err != nil {
			return fmt.Errorf("mkdir %s: %w", cur, err)
		}
		if made != nil {
			if err := made(cur); err != nil {
				return err
			}
		}
	}
	return nil
}

// write sets a cgroup file (plain system calls: an *os.File would
// register each cgroupfs file with the poller, 3 more calls a write).
func write(dir, file, val string) error {
	p := filepath.Join(dir, file)
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("set %s: %w", p, &os.PathError{Op: "open", Path: p, Err: err})
	}
	_, err = unix.Write(fd, []byte(val))
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("set %s to %q: %w", p, val, err)
	}
	return nil
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
