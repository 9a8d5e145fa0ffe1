package container

import (
	"context"
	"errors"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenInit(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	c, err := s.Create(ctx, Container{Name: "up"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (*c).OpenInit(); !errors.Is(err, ErrNotRunning) {
		t.Errorf("OpenInit of a created container: %v, want ErrNotRunning", err)
	}
	if err := s.SetRunning(ctx, c.ID, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Load(ctx, "up")
	fd, err := c.OpenInit()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	// The pidfd names the recorded process: its signal reaches it.
	if err := unix.PidfdSendSignal(fd, unix.SIGTERM, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Errorf("the process of the pidfd was not signalled")
	}
	// A record whose pid is another process now (another start time).
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	reused := Container{ID: c.ID, Status: Running, Pid: other.Process.Pid, PidStart: 1}
	if _, err := reused.OpenInit(); !errors.Is(err, ErrNotRunning) {
		t.Errorf("OpenInit of a reused pid: %v, want ErrNotRunning", err)
	}
}
