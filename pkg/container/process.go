package container

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pidStart reads the start time (field 22) of /proc/<pid>/stat.
func pidStart(pid int) (uint64, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrNotRunning)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// comm (field 2) may hold spaces and parentheses: fields restart after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("pid %d: bad stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("pid %d: bad stat", pid)
	}
	// f[0] is field 3 (state); start time is field 22.
	if f[0] == "Z" || f[0] == "X" {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrNotRunning)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// alive reports whether pid still is the process recorded (same start time).
func alive(pid int, start uint64) bool {
	got, err := pidStart(pid)
	return err == nil && (start == 0 || got == start)
}

// signalProcess signals pid through a pidfd after checking it is still the
// recorded process, so a reused pid is never hit.
func signalProcess(pid int, start uint64, sig int) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("signal pid %d: %w", pid, ErrNotRunning)
	}
	defer unix.Close(fd)
	if !alive(pid, start) {
		return fmt.Errorf("signal pid %d: %w", pid, ErrNotRunning)
	}
	if err := unix.PidfdSendSignal(fd, unix.Signal(sig), nil, 0); err != nil {
		return fmt.Errorf("signal pid %d: %w", pid, err)
	}
	return nil
}

// ParseSignal accepts "KILL", "SIGKILL", "sigkill" or "9".
func ParseSignal(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("%w: %q", ErrBadSignal, s)
		}
		return n, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return int(sig), nil
	}
	return 0, fmt.Errorf("%w: %q", ErrBadSignal, s)
}

// OpenInit returns a pidfd of the running container's init process,
// checked to be the recorded one (same start time) after it was opened:
// the pidfd then names that process even if its pid is reused, to enter
// its namespaces (`exec`). ErrNotRunning when the container does not run.
func (c *Container) OpenInit() (int, error) {
	if c.Status != Running {
		return -1, fmt.Errorf("open init: %w", ErrNotRunning)
	}
	fd, err := unix.PidfdOpen(c.Pid, 0)
	if err != nil {
		return -1, fmt.Errorf("open init pid %d: %w", c.Pid, ErrNotRunning)
	}
	if !alive(c.Pid, c.PidStart) {
		unix.Close(fd)
		return -1, fmt.Errorf("open init pid %d: %w", c.Pid, ErrNotRunning)
	}
	return fd, nil
}
