package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// Enter moves the calling thread, which the caller has locked to its
// goroutine, into the cgroup on a v1 host: "0" (this thread) to the tasks
// file of each hierarchy. A process the thread then forks is born in the
// cgroup with all its threads, as CLONE_INTO_CGROUP does on v2. That is
// the cheap way in: moving a running process through cgroup.procs takes
// the kernel's thread-group lock for writing, which waits for an RCU grace
// period (some 10 ms on v1); moving one's own thread does not take it.
//
// Enter always returns leave, which moves the thread back to the cgroups
// it came from (and restores its CPU affinity, which a cpuset changes);
// the caller calls it once the fork is done, also when Enter failed part
// way. While leave has not succeeded the thread must stay locked: a
// thread left in the cgroup must end with its goroutine. Enter is
// errdefs.ErrUnsupported on v2, for None, where a hierarchy of the
// cgroup is not among the thread's own, and where the thread could take
// a pid the container's processes are counted against: a new cgroup
// whose pids limit is 1, an opened one (Open: a running container's,
// for exec) with any pids limit. There a process moved in is not
// refused, as before.
func (c *Cgroup) Enter() (leave func() error, err error) {
	leave = func() error { return nil }
	pidsBound := c.pidsLimit == 1 || (c.opened && c.pidsLimit != 0)
	if c.v2 || len(c.dirs) == 0 || len(c.hier) != len(c.dirs) || pidsBound {
		return leave, fmt.Errorf("enter cgroup %s: %w", c.path, errdefs.ErrUnsupported)
	}
	own, err := threadCgroups()
	if err != nil {
		return leave, fmt.Errorf("enter cgroup %s: %w", c.path, err)
	}
	homes := make([]string, len(c.dirs))
	for i, h := range c.hier {
		p, ok := own[ctrlKey(h.opts)]
		if !ok {
			return leave, fmt.Errorf("enter cgroup %s: hierarchy %s is not in /proc/thread-self/cgroup: %w", c.path, h.dir, errdefs.ErrUnsupported)
		}
		homes[i] = filepath.Join(h.dir, p)
	}
	var cpus unix.CPUSet
	affinity := unix.SchedGetaffinity(0, &cpus) == nil
	var entered []string // the homes to go back to
	leave = func() error {
		var errs []error
		for _, d := range entered {
			if err := moveThread(d); err != nil {
				errs = append(errs, err)
			}
		}
		if affinity && len(entered) > 0 {
			if err := unix.SchedSetaffinity(0, &cpus); err != nil {
				errs = append(errs, fmt.Errorf("restore CPU affinity: %w", err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("leave cgroup %s: %w", c.path, err)
		}
		return nil
	}
	for i, d := range c.dirs {
		if err := moveThread(d); err != nil {
			return leave, fmt.Errorf("enter cgroup %s: %w", c.path, err)
		}
		entered = append(entered, homes[i])
	}
	return leave, nil
}

// moveThread moves the calling thread into cgroup directory dir (v1).
func moveThread(dir string) error {
	p := filepath.Join(dir, "tasks")
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	_, err = unix.Write(fd, []byte("0"))
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// threadCgroups reads the calling thread's v1 cgroups: its path in each
// hierarchy, by ctrlKey of the hierarchy's controllers and name.
func threadCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/thread-self/cgroup")
	if err != nil {
		return nil, err
	}
	own := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// hierarchy-ID:controller-list:path
		_, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		ctrls, p, ok := strings.Cut(rest, ":")
		if ok && ctrls != "" {
			own[ctrlKey(strings.Split(ctrls, ","))] = p
		}
	}
	return own, sc.Err()
}

// ctrlKey names a v1 hierarchy by its controllers and name= option, in
// any order.
func ctrlKey(opts []string) string {
	s := slices.Clone(opts)
	slices.Sort(s)
	return strings.Join(s, ",")
}
