package container

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/ctrlite/ctr-lite/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"golang.org/x/sys/unix"
)

func TestCreateLoadList(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a, err := s.Create(ctx, Container{Name: "web", Image: "busybox:latest", Command: []string{"sh"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Create(ctx, Container{Image: "alpine", Created: a.Created.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.ID) != 64 || a.ShortID() != a.ID[:12] || a.Status != Created {
		t.Errorf("new record: id %q short %q status %s", a.ID, a.ShortID(), a.Status)
	}
	tests := []struct {
		ref  string
		want string
		err  error
	}{
		{"web", a.ID, nil},
		{a.ID, a.ID, nil},
		{a.ShortID(), a.ID, nil},
		{b.ID[:8], b.ID, nil},
		{"nope", "", errdefs.ErrNotFound},
		{"", "", errdefs.ErrNotFound},
		{"../x", "", errdefs.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			c, err := s.Load(ctx, tc.ref)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Load(%q) err %v, want %v", tc.ref, err, tc.err)
			}
			if err == nil && c.ID != tc.want {
				t.Errorf("Load(%q) = %s, want %s", tc.ref, c.ID, tc.want)
			}
		})
	}
	all, err := s.List(ctx)
	if err != nil || len(all) != 2 || all[0].ID != b.ID {
		t.Fatalf("List: %v %+v, want 2 newest first", err, all)
	}
	if _, err := s.Create(ctx, Container{Name: "web"}); !errors.Is(err, ErrNameInUse) {
		t.Errorf("duplicate name: %v", err)
	}
	if _, err := s.Create(ctx, Container{Name: "-bad/name"}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("invalid name: %v", err)
	}
	if err := s.SetExited(ctx, a.ID, 3); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Load(ctx, "web"); c.Status != Exited || c.ExitCode != 3 {
		t.Errorf("after SetExited: %+v", c)
	}
	if err := s.Remove(ctx, "web", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "web"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("removed container still loads: %v", err)
	}
}

func TestUniqueNamesConcurrent(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Create(ctx, Container{Name: "same"}); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !errors.Is(err, ErrNameInUse) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d creates of one name succeeded, want 1", ok)
	}
}

func TestRunningKillRemove(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	c, err := s.Create(ctx, Container{Name: "sleeper"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetRunning(ctx, c.ID, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load(ctx, "sleeper"); got.Status != Running || got.Pid != cmd.Process.Pid {
		t.Fatalf("record %+v, want running with pid", got)
	}
	if err := s.Remove(ctx, "sleeper", false); !errors.Is(err, ErrRunning) {
		t.Errorf("remove running without force: %v", err)
	}
	sig, err := ParseSignal("term")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Kill(ctx, "sleeper", sig); err != nil {
		t.Fatal(err)
	}
	werr := <-waited
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if werr == nil || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("process not killed by SIGTERM: %v", werr)
	}
	// The record still says running, but the pid is dead: reported exited.
	if got, _ := s.Load(ctx, "sleeper"); got.Status != Exited {
		t.Errorf("dead pid reported %s, want exited", got.Status)
	}
	if err := s.Kill(ctx, "sleeper", 9); !errors.Is(err, ErrNotRunning) {
		t.Errorf("kill of exited container: %v", err)
	}
}

func TestForceRemoveKills(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	c, _ := s.Create(ctx, Container{})
	if err := s.SetRunning(ctx, c.ID, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second) // hang guard
	defer cancel()
	if err := s.Remove(rctx, c.ShortID(), true); err != nil {
		t.Fatal(err)
	}
	if alive(cmd.Process.Pid, 0) {
		t.Errorf("force remove left the process running")
	}
}

// A reused pid (same number, another start time) is not signalled.
func TestReusedPidNotSignalled(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	c, _ := s.Create(ctx, Container{})
	_, err := s.Update(ctx, c.ID, func(c *Container) error {
		c.Status, c.Pid, c.PidStart = Running, cmd.Process.Pid, 1 // wrong start time
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Kill(ctx, c.ID, 9); !errors.Is(err, ErrNotRunning) {
		t.Errorf("kill of a reused pid: %v, want ErrNotRunning", err)
	}
}

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  bool
	}{
		{"KILL", 9, false}, {"SIGTERM", 15, false}, {"hup", 1, false}, {"10", 10, false},
		{"0", 0, true}, {"SIGNOPE", 0, true}, {"", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSignal(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("ParseSignal(%q) = %d, %v", tc.in, got, err)
			}
		})
	}
}

func TestPrepareOverlay(t *testing.T) {
	s := newStore(t)
	c, err := s.Create(context.Background(), Container{})
	if err != nil {
		t.Fatal(err)
	}
	rootfs, m, err := s.PrepareOverlay(c.ID, []string{"/l/base", "/l/top"})
	if err != nil {
		t.Fatal(err)
	}
	if rootfs != s.Dir(c.ID)+"/rootfs" || len(m) != 1 || m[0].Type != "overlay" ||
		m[0].Options[0] != "lowerdir=/l/top:/l/base" || m[0].Options[1] != "upperdir="+s.Dir(c.ID)+"/upper" {
		t.Errorf("PrepareOverlay = %s %+v", rootfs, m)
	}
	if _, _, err := s.PrepareOverlay(c.ID, []string{"/l/a:b"}); err == nil {
		t.Errorf("a layer path with ':' was accepted")
	}
	if _, _, err := s.PrepareOverlay(c.ID, nil); err == nil {
		t.Errorf("no layers was accepted")
	}
}

func newStore(t *testing.T) *Store {
	t.Helper()
	r, err := dataroot.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return NewStore(r)
}

// TestRemoveNeverCrossesMounts: what is mounted below a container's
// directory is unmounted, never emptied; a mount that cannot be taken
// away stops the removal before anything below it is touched.
func TestRemoveNeverCrossesMounts(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	s := newStore(t)
	c, err := s.Create(ctx, Container{Name: "mounted"})
	if err != nil {
		t.Fatal(err)
	}
	host := t.TempDir()
	keep := filepath.Join(host, "keep")
	if err := os.WriteFile(keep, []byte("host file"), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(s.Dir(c.ID), "rootfs")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(host, mnt, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	// removeTree alone refuses to go below the mount point.
	if err := removeTree(s.Dir(c.ID)); err == nil || !strings.Contains(err.Error(), "mount point") {
		t.Errorf("removeTree across a mount: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("removeTree emptied a mounted directory: %v", err)
	}
	// Remove unmounts first, then removes the directory.
	if err := s.Remove(ctx, "mounted", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("Remove emptied a mounted directory: %v", err)
	}
	if _, err := os.Stat(s.Dir(c.ID)); !os.IsNotExist(err) {
		t.Errorf("container directory left: %v", err)
	}
}

// TestInUseContainerKept: a container a `run` uses (Store.Use), even before
// it has a pid, keeps its mounts through fsck --repair and is not removed
// without force.
func TestInUseContainerKept(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	s := newStore(t)
	id := NewID()
	release, err := s.Use(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := s.Create(ctx, Container{ID: id}); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(s.Dir(id), "rootfs")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	if probs, err := s.Fsck(ctx, true); err != nil || len(probs) != 0 {
		t.Errorf("fsck --repair of a container in use: %v %v", probs, err)
	}
	if err := s.Remove(ctx, id, false); !errors.Is(err, ErrRunning) {
		t.Errorf("remove of a container in use: %v, want ErrRunning", err)
	}
	release()
	if probs, err := s.Fsck(ctx, true); err != nil || len(probs) != 1 {
		t.Errorf("fsck --repair once nobody uses it: %v %v, want the mount", probs, err)
	}
	if err := s.Remove(ctx, id, false); err != nil {
		t.Errorf("remove once nobody uses it: %v", err)
	}
}

// Records are snake_case, as every --json; a record written with the
// earlier camelCase names still reads whole.
func TestStateNames(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	c, err := s.Create(ctx, Container{Image: "busybox"})
	if err != nil {
		t.Fatal(err)
	}
	c.ExitCode, c.PidStart, c.Status = 7, 12345, Exited
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		if strings.ToLower(k) != k {
			t.Errorf("JSON name %q is not snake_case", k)
		}
	}
	legacy := strings.NewReplacer(`"exit_code"`, `"exitCode"`, `"pid_start"`, `"pidStart"`).Replace(string(b))
	if err := os.WriteFile(filepath.Join(s.Dir(c.ID), stateFile), []byte(legacy), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, c.ID)
	if err != nil || got.ExitCode != 7 || got.PidStart != 12345 {
		t.Errorf("legacy record read as %+v, %v", got, err)
	}
}
