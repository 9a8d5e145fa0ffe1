package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// setupConsole (child, after pivot_root) opens a pty pair from the
// container's own devpts instance, sends the master to the parent and makes
// the slave the process's stdio.
func setupConsole() error {
	master, err := unix.Open("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/pts/ptmx: %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("pty number: %w", err)
	}
	slave, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("open pty slave: %w", err)
	}
	if err := writeSync(fdSync, syncMsg{Type: syncConsole}, master); err != nil {
		return fmt.Errorf("pty master: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("dup pty slave: %w", err)
		}
	}
	if slave > 2 {
		unix.Close(slave)
	}
	return nil
}

// console is the parent's side of -t: raw mode on the caller's terminal,
// window size kept in sync, bytes copied both ways.
type console struct {
	master  *os.File
	restore func()
	outDone chan struct{}
	winch   chan os.Signal
	once    sync.Once
}

func startConsole(master *os.File, stdio Stdio) *console {
	c := &console{master: pollable(master), restore: func() {}, outDone: make(chan struct{})}
	master = c.master
	inTerminal := false
	if f, ok := stdio.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		inTerminal = true
		if st, err := term.MakeRaw(int(f.Fd())); err == nil {
			c.restore = func() { _ = term.Restore(int(f.Fd()), st) }
		}
	}
	sizeFrom := sizeSource(stdio)
	if sizeFrom >= 0 {
		c.resize(sizeFrom)
		c.winch = make(chan os.Signal, 1)
		signal.Notify(c.winch, unix.SIGWINCH)
		go func() {
			for range c.winch {
				c.resize(sizeFrom)
			}
		}()
	}
	if stdio.In != nil {
		go func() {
			_, _ = io.Copy(master, stdio.In)
			if inTerminal {
				c.hangup() // the caller's terminal hung up (EOF, EIO)
			}
		}()
	}
	go func() {
		defer close(c.outDone)
		out := stdio.Out
		if out == nil {
			out = io.Discard
		}
		_, err := io.Copy(out, master)
		var pe *os.PathError
		if errors.As(err, &pe) && errors.Is(pe.Err, unix.EIO) {
			return // slave closed: the container is gone
		}
	}()
	return c
}

// sizeSource picks the caller's terminal to read the window size from.
func sizeSource(stdio Stdio) int {
	for _, x := range []any{stdio.Out, stdio.In} {
		if f, ok := x.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return int(f.Fd())
		}
	}
	return -1
}

func (c *console) resize(from int) {
	ws, err := unix.IoctlGetWinsize(from, unix.TIOCGWINSZ)
	if err == nil {
		_ = unix.IoctlSetWinsize(int(c.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// pollable returns master in non-blocking mode, so that closing it
// interrupts the copies reading and writing it (a blocked read would keep
// the pty open, and its hang-up from happening).
func pollable(master *os.File) *os.File {
	fd, err := unix.Dup(int(master.Fd()))
	if err != nil {
		return master
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return master
	}
	master.Close()
	return os.NewFile(uintptr(fd), "pty-master")
}

// hangup closes the pty master: the container's terminal hangs up, its
// session gets SIGHUP and its reads end, as when a terminal is closed.
func (c *console) hangup() { _ = c.master.Close() }

// close waits for the output to drain, then restores the caller's terminal.
func (c *console) close() { c.once.Do(c.doClose) }

func (c *console) doClose() {
	<-c.outDone
	if c.winch != nil {
		signal.Stop(c.winch)
		close(c.winch)
	}
	c.master.Close()
	c.restore()
}
