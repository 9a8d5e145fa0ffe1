package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/network"
	"github.com/ctrlite/ctr-lite/pkg/runner/cgroups"
)

// Status of a container.
type Status string

// Container states, as docker names them.
const (
	Created Status = "created"
	Running Status = "running"
	Exited  Status = "exited"
)

// Container is one record (state.json, and `ps --json`): snake_case names
// as every --json of ctr-lite.
type Container struct {
	ID      string   `json:"id"`
	Name    string   `json:"name,omitempty"`
	Image   string   `json:"image"`
	Command []string `json:"command"`
	// Chains are the snapshot chain IDs the container's rootfs stacks
	// (bottom first); gc keeps them while the container exists.
	Chains   []string  `json:"chains,omitempty"`
	Created  time.Time `json:"created"`
	Status   Status    `json:"status"`
	ExitCode int       `json:"exit_code"`
	Pid      int       `json:"pid,omitempty"`
	// PidStart is the pid's start time (clock ticks since boot, from
	// /proc/<pid>/stat) to tell the process from a later one with its pid.
	PidStart uint64    `json:"pid_start,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// Cgroup is the container's cgroup path (in every hierarchy), removed
	// with the container, or by gc once it exited, when ctr-lite could not.
	Cgroup string `json:"cgroup,omitempty"`
	// StopSignal is the image's StopSignal (stop sends it; default SIGTERM).
	StopSignal string `json:"stop_signal,omitempty"`
	// Tty: the container has a terminal (-t).
	Tty bool `json:"tty,omitempty"`
	// MonitorPid is the process that runs the container and records its
	// exit (the monitor of `run -d` or `start`, or the foreground `run`),
	// with its start time as for Pid.
	MonitorPid   int    `json:"monitor_pid,omitempty"`
	MonitorStart uint64 `json:"monitor_start,omitempty"`
	// MonitorLost is set by List (never stored): the monitor died (killed)
	// before it could record the exit; the status is then exited with
	// ExitUnknown.
	MonitorLost bool `json:"monitor_lost,omitempty"`
	// Network is the container's network: host, none, or the name of a
	// CNI network (package network). On a CNI network, NetNS is its
	// namespace file (recorded before the network is attached, cleared
	// once it is detached: rm and gc detach it when ctr-lite could not),
	// IP its address and Ports what -p published, while attached.
	Network string         `json:"network,omitempty"`
	NetNS   string         `json:"netns,omitempty"`
	IP      string         `json:"ip,omitempty"`
	Ports   []network.Port `json:"ports,omitempty"`
}

// LogFile is the name of a detached container's log (CRI format, see
// package crilog) in its directory.
const LogFile = "ctr.log"

// ExitUnknown is the exit code of a container whose process ended with
// nobody to see its status (its `ctr-lite run` was killed).
const ExitUnknown = -1

// ShortID is the 12-character form shown by ps.
func (c *Container) ShortID() string { return ShortID(c.ID) }

// ShortID returns the first 12 characters of id.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// validName reports whether s matches ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ (written
// out, not a package-level regexp compiled by every process at start-up).
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return s != ""
}

const stateFile = "state.json"

// Store holds the container records of one data root.
type Store struct {
	dir   string
	locks dataroot.Locks
}

// NewStore returns the container store of root.
func NewStore(root *dataroot.Root) *Store {
	return &Store{dir: root.Dir(dataroot.Containers), locks: root.Locks(dataroot.Containers)}
}

// Dir is the container's directory (the runner's StateDir, overlay
// upper/work dirs live here).
func (s *Store) Dir(id string) string { return filepath.Join(s.dir, id) }

func (s *Store) lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock containers: %w", err)
	}
	unlock, err := s.locks.Lock(ctx, "records")
	if err != nil {
		return nil, fmt.Errorf("lock containers: %w", err)
	}
	return unlock, nil
}

// Use marks container id in use by this process (a `run`, from its
// record's creation to its exit) until release: fsck leaves its mounts
// alone and rm refuses it without force, even before it has a pid.
func (s *Store) Use(ctx context.Context, id string) (release func(), err error) {
	release, err = s.locks.Lock(ctx, useLock(id))
	if err != nil {
		return nil, fmt.Errorf("use container %s: %w", ShortID(id), err)
	}
	return release, nil
}

// inUse reports whether a process holds Use on id.
func (s *Store) inUse(id string) bool { return s.locks.Held(useLock(id)) }

func useLock(id string) string { return "use-" + id }

// NewID returns a random 64-hex-digit container id.
func NewID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Create records a new container in state created. An empty ID gets a
// random one; Created defaults to now. The name, when set, must be unused.
func (s *Store) Create(ctx context.Context, c Container) (*Container, error) {
	if c.Name != "" && !validName(c.Name) {
		return nil, fmt.Errorf("create container %q: %w", c.Name, ErrInvalidName)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	all, err := s.readAll()
	if err != nil {
		return nil, err
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	for _, o := range all {
		if c.Name != "" && o.Name == c.Name {
			return nil, fmt.Errorf("create container %q: %w by %s", c.Name, ErrNameInUse, o.ShortID())
		}
		if o.ID == c.ID {
			return nil, fmt.Errorf("create container %s: id exists", c.ID)
		}
	}
	if c.Created.IsZero() {
		c.Created = time.Now().UTC()
	}
	c.Status = Created
	if err := os.MkdirAll(s.Dir(c.ID), 0o700); err != nil {
		return nil, fmt.Errorf("create container %s: %w", c.ID, err)
	}
	if err := s.write(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Load finds a container by full id, unique id prefix, or name. A full
// id reads that one record (pollers such as Wait and logs -f ask by id);
// anything else reads them all.
func (s *Store) Load(ctx context.Context, ref string) (*Container, error) {
	if isFullID(ref) {
		c, err := s.read(ref)
		if err == nil {
			c.observe()
			return c, ctx.Err()
		}
		if !errors.Is(err, errdefs.ErrNotFound) {
			return nil, err
		}
		// A name may look like an id: fall back to the whole list.
	}
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	return find(all, ref)
}

// isFullID: ref has the form of a container id (64 lowercase hex digits).
func isFullID(ref string) bool {
	if len(ref) != 64 {
		return false
	}
	for _, r := range ref {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

func find(all []Container, ref string) (*Container, error) {
	if ref == "" {
		return nil, fmt.Errorf("container %q: %w", ref, errdefs.ErrNotFound)
	}
	for i := range all {
		if all[i].ID == ref || all[i].Name == ref {
			return &all[i], nil
		}
	}
	var match *Container
	for i := range all {
		if strings.HasPrefix(all[i].ID, ref) {
			if match != nil {
				return nil, fmt.Errorf("container %q: %w", ref, ErrAmbiguous)
			}
			match = &all[i]
		}
	}
	if match == nil {
		return nil, fmt.Errorf("container %q: %w", ref, errdefs.ErrNotFound)
	}
	return match, nil
}

// List returns every container, newest first. A record that says running
// whose process is gone is reported exited.
func (s *Store) List(ctx context.Context) ([]Container, error) {
	all, err := s.readAll()
	if err != nil {
		return nil, err
	}
	for i := range all {
		all[i].observe()
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Created.After(all[j].Created) })
	return all, ctx.Err()
}

// Active reports whether the container runs or is being started by a
// live monitor: its output may still grow (logs -f, attach follow it).
func (c *Container) Active() bool {
	switch c.Status {
	case Running:
		return true
	case Created:
		return c.MonitorPid > 0 && alive(c.MonitorPid, c.MonitorStart)
	}
	return false
}

// observe corrects a running record by what the processes say: a
// monitor that is gone cannot record the exit any more, nor can a dead
// container without a monitor (a record from before monitors).
func (c *Container) observe() {
	if c.Status != Running {
		return
	}
	monitor := c.MonitorPid > 0 && alive(c.MonitorPid, c.MonitorStart)
	switch {
	case c.MonitorPid > 0 && !monitor:
		c.Status, c.ExitCode, c.MonitorLost = Exited, ExitUnknown, true
	case c.MonitorPid == 0 && !alive(c.Pid, c.PidStart):
		c.Status, c.ExitCode = Exited, ExitUnknown
	}
}

// Update changes a record under the lock; fn sees the stored record.
func (s *Store) Update(ctx context.Context, id string, fn func(*Container) error) (*Container, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c, err := s.read(id)
	if err != nil {
		return nil, err
	}
	if err := fn(c); err != nil {
		return nil, err
	}
	c.ID = id
	if err := s.write(c); err != nil {
		return nil, err
	}
	return c, nil
}

// SetRunning marks the container running with its pid (host view).
func (s *Store) SetRunning(ctx context.Context, id string, pid int) error {
	start, _ := pidStart(pid)
	_, err := s.Update(ctx, id, func(c *Container) error {
		c.Status, c.Pid, c.PidStart, c.Started = Running, pid, start, time.Now().UTC()
		return nil
	})
	return err
}

// SetMonitor records pid as the container's monitor.
func (s *Store) SetMonitor(ctx context.Context, id string, pid int) error {
	start, _ := pidStart(pid)
	_, err := s.Update(ctx, id, func(c *Container) error {
		c.MonitorPid, c.MonitorStart = pid, start
		return nil
	})
	return err
}

// LogPath is the container's log file.
func (s *Store) LogPath(id string) string { return filepath.Join(s.Dir(id), LogFile) }

// SetExited records the exit status.
func (s *Store) SetExited(ctx context.Context, id string, code int) error {
	_, err := s.Update(ctx, id, func(c *Container) error {
		c.Status, c.ExitCode, c.Pid, c.PidStart, c.Finished = Exited, code, 0, 0, time.Now().UTC()
		return nil
	})
	return err
}

// Remove deletes a container: its cgroup, the mounts below its directory
// (the rootfs `run --runtime` mounts), then the directory, never crossing
// a mount point. A running container is refused unless force, which kills
// it (SIGKILL) and waits for it to go first.
func (s *Store) Remove(ctx context.Context, ref string, force bool) error {
	c, err := s.Load(ctx, ref)
	if err != nil {
		return err
	}
	// (inUse also removes the lock file of a container nobody uses.) A
	// live monitor that is not this process is about to use it, or is
	// finishing it.
	busy := s.inUse(c.ID) || (c.MonitorPid > 0 && c.MonitorPid != os.Getpid() && alive(c.MonitorPid, c.MonitorStart))
	if busy && !force && c.Status != Running {
		return fmt.Errorf("remove %s: %w (starting; stop it first, or force)", c.ShortID(), ErrRunning)
	}
	if c.Status == Running && !force {
		return fmt.Errorf("remove %s: %w (stop it first, or force)", c.ShortID(), ErrRunning)
	}
	if force {
		// Whatever the record says (its monitor may have been killed),
		// the container's process and its monitor go first.
		if err := s.reap(ctx, c); err != nil {
			return fmt.Errorf("remove %s: %w", c.ShortID(), err)
		}
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if c.Cgroup != "" {
		if err := cgroups.Remove(c.Cgroup); err != nil {
			return fmt.Errorf("remove %s: %w", c.ShortID(), err)
		}
	}
	if c.NetNS != "" {
		if err := network.Detach(ctx, s.Dir(c.ID), c.ID); err != nil {
			return fmt.Errorf("remove %s: %w", c.ShortID(), err)
		}
	}
	if err := unmountBelow(s.Dir(c.ID)); err != nil {
		return fmt.Errorf("remove %s: %w", c.ShortID(), err)
	}
	if err := removeTree(s.Dir(c.ID)); err != nil {
		return fmt.Errorf("remove %s: %w", c.ShortID(), err)
	}
	return nil
}

// Kill sends sig to a running container's init process.
func (s *Store) Kill(ctx context.Context, ref string, sig int) error {
	c, err := s.Load(ctx, ref)
	if err != nil {
		return err
	}
	if c.Status != Running {
		return fmt.Errorf("kill %s: %w", c.ShortID(), ErrNotRunning)
	}
	if err := signalProcess(c.Pid, c.PidStart, sig); err != nil {
		return fmt.Errorf("kill %s: %w", c.ShortID(), err)
	}
	return nil
}

func (s *Store) readAll() ([]Container, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []Container
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := s.read(e.Name())
		if err != nil {
			continue // being created or removed
		}
		out = append(out, *c)
	}
	return out, nil
}

func (s *Store) read(id string) (*Container, error) {
	if id == "" || strings.ContainsAny(id, "/\\") || id == "." || id == ".." {
		return nil, fmt.Errorf("container %q: %w", id, errdefs.ErrNotFound)
	}
	b, err := os.ReadFile(filepath.Join(s.Dir(id), stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read container %s: %w", id, err)
	}
	var c Container
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("read container %s: %w", id, err)
	}
	// Records written before the names became snake_case.
	var old struct {
		ExitCode *int    `json:"exitCode"`
		PidStart *uint64 `json:"pidStart"`
	}
	if err := json.Unmarshal(b, &old); err == nil {
		if old.ExitCode != nil {
			c.ExitCode = *old.ExitCode
		}
		if old.PidStart != nil {
			c.PidStart = *old.PidStart
		}
	}
	return &c, nil
}

// write replaces state.json atomically (temp file + rename).
func (s *Store) write(c *Container) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("write container %s: %w", c.ID, err)
	}
	tmp, err := os.CreateTemp(s.Dir(c.ID), ".state-*")
	if err != nil {
		return fmt.Errorf("write container %s: %w", c.ID, err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write container %s: %w", c.ID, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.Dir(c.ID), stateFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write container %s: %w", c.ID, err)
	}
	return nil
}
