package network

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// TestNewNSKeepsThreads: making namespaces does not end the threads that
// run them, so a child another goroutine started with a parent-death
// signal (as the runner and the tests' registries do) lives on.
func TestNewNSKeepsThreads(t *testing.T) {
	testutil.RequireRoot(t)
	var children []*exec.Cmd
	for range 8 { // from several threads
		runtime.LockOSThread()
		c := exec.Command("sleep", "60")
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		children = append(children, c)
		runtime.UnlockOSThread()
		done := make(chan struct{})
		go func() { runtime.Gosched(); close(done) }()
		<-done
	}
	defer func() {
		for _, c := range children {
			c.Process.Kill()
			c.Wait()
		}
	}()
	dir := t.TempDir()
	for i := range 40 {
		p := filepath.Join(dir, "ns"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if err := newNS(p); err != nil {
			t.Fatal(err)
		}
		if err := removeNS(p); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	for _, c := range children {
		if err := c.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("a child started with a parent-death signal was killed: %v", err)
		}
		var ws syscall.WaitStatus
		if pid, _ := syscall.Wait4(c.Process.Pid, &ws, syscall.WNOHANG, nil); pid != 0 {
			t.Fatalf("child %d ended: %v", pid, ws)
		}
	}
}
