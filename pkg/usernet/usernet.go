package usernet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/network"
	"golang.org/x/sys/unix"
)

// The user-mode networks.
const (
	Pasta       = "pasta"
	Slirp4netns = "slirp4netns"
)

// Default is the user-mode network to use when none is asked for: pasta
// when installed, else slirp4netns, else "" (no network but lo).
func Default() string {
	for _, m := range []string{Pasta, Slirp4netns} {
		if _, err := exec.LookPath(m); err == nil {
			return m
		}
	}
	return ""
}

// Network is one attached user-mode network.
type Network struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once cmd's Wait returned
	waitErr error         // cmd's Wait, once exited is closed
	exitW   *os.File      // slirp4netns: closing it ends the program
	tmpDir  string
	out     strings.Builder
}

// readyTimeout bounds the wait for the network to come up.
const readyTimeout = 10 * time.Second

// Attach starts mode for the network namespace of process pid and returns
// once the namespace's interface is configured; ports are published from
// the host (pasta only). Stop ends it.
func Attach(ctx context.Context, mode string, pid int, ports []network.Port) (*Network, error) {
	path, err := exec.LookPath(mode)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", mode, err)
	}
	n := &Network{exited: make(chan struct{})}
	switch mode {
	case Pasta:
		err = n.attachPasta(ctx, path, pid, ports)
	case Slirp4netns:
		if len(ports) > 0 {
			return nil, fmt.Errorf("network %s: publishing ports (-p) needs pasta", mode)
		}
		err = n.attachSlirp(ctx, path, pid)
	default:
		return nil, fmt.Errorf("network %q: not a user-mode network", mode)
	}
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", mode, err)
	}
	return n, nil
}

// start runs path with args (and extra fds 3...) in its own process
// group, killed if ctr-lite dies.
func (n *Network) start(path string, extra []*os.File, args ...string) error {
	n.cmd = exec.Command(path, args...)
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: unix.SIGKILL}
	n.cmd.Stdout, n.cmd.Stderr = &n.out, &n.out
	n.cmd.ExtraFiles = extra
	if err := n.cmd.Start(); err != nil {
		return err
	}
	go func() { n.waitErr = n.cmd.Wait(); close(n.exited) }()
	return nil
}

// wait waits until ready reports true (polled) or up delivers, the
// program exits, ctx ends or readyTimeout passes.
func (n *Network) wait(ctx context.Context, ready func() bool, up <-chan error) error {
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready != nil && ready() {
			return nil
		}
		select {
		case err := <-up:
			if err == nil {
				return nil
			}
			n.Stop()
			return fmt.Errorf("exited before the network was up: %s", strings.TrimSpace(n.out.String()))
		case <-n.exited:
			n.Stop()
			return fmt.Errorf("exited before the network was up: %v: %s", n.waitErr, strings.TrimSpace(n.out.String()))
		case <-ctx.Done():
			n.Stop()
			return ctx.Err()
		case <-deadline.C:
			n.Stop()
			return fmt.Errorf("not up after %s: %s", readyTimeout, strings.TrimSpace(n.out.String()))
		case <-tick.C:
		}
	}
}

func (n *Network) attachPasta(ctx context.Context, path string, pid int, ports []network.Port) error {
	dir, err := os.MkdirTemp("", "ctr-lite-pasta-")
	if err != nil {
		return err
	}
	n.tmpDir = dir
	pidFile := filepath.Join(dir, "pid")
	// pasta drops capabilities before it opens the namespace, and then
	// may not open another process's: it gets an open one, as fd 3.
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	// --runas: as root pasta would switch to nobody, who cannot join.
	// Only the published ports are forwarded (no "auto": its scans of the
	// namespace's sockets double pasta's start-up time, and docker's
	// model is explicit publishing).
	args := append([]string{"--config-net", "--foreground", "--quiet", "--pid", pidFile, "--netns", "/proc/self/fd/3",
		"--runas", fmt.Sprintf("%d:%d", os.Geteuid(), os.Getegid())}, pastaArgs(ports)...)
	err = n.start(path, []*os.File{ns}, args...)
	ns.Close()
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	return n.wait(ctx, func() bool {
		b, err := os.ReadFile(pidFile)
		return err == nil && len(strings.TrimSpace(string(b))) > 0
	}, nil)
}

func (n *Network) attachSlirp(ctx context.Context, path string, pid int) error {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer readyR.Close()
	exitR, exitW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return err
	}
	defer exitR.Close()
	n.exitW = exitW
	// fds 3 and 4 in the child, in ExtraFiles order.
	err = n.start(path, []*os.File{readyW, exitR}, "--configure", "--mtu=65520", "--ready-fd=3", "--exit-fd=4", strconv.Itoa(pid), "tap0")
	readyW.Close()
	if err != nil {
		exitW.Close()
		return err
	}
	up := make(chan error, 1)
	go func() {
		var b [1]byte
		_, err := readyR.Read(b[:])
		up <- err
	}()
	return n.wait(ctx, nil, up)
}

// Stop ends the network program and waits for it.
func (n *Network) Stop() {
	if n == nil || n.cmd == nil {
		return
	}
	if n.exitW != nil {
		n.exitW.Close() // slirp4netns exits on its own
		n.exitW = nil
		select {
		case <-n.exited:
		case <-time.After(2 * time.Second):
		}
	}
	_ = n.cmd.Process.Kill()
	<-n.exited // closed: Stop may be called again
	if n.tmpDir != "" {
		os.RemoveAll(n.tmpDir)
	}
}
