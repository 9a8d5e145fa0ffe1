package runner

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"

	"golang.org/x/sys/unix"
)

func syncPair(t *testing.T) (child int, parent *os.File) {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent = os.NewFile(uintptr(pair[1]), "sync")
	t.Cleanup(func() { parent.Close() })
	return pair[0], parent
}

// TestSyncMessages: a long child error arrives whole (not cut at a read
// buffer), a file travels with its message, a message a step does not
// expect is a protocol error, and EOF reads as such.
func TestSyncMessages(t *testing.T) {
	child, parent := syncPair(t)
	long := strings.Repeat("x", 5000)
	if err := writeSync(child, syncMsg{Type: syncError, Error: &childError{Code: CodeNotFound, Msg: long}}, -1); err != nil {
		t.Fatal(err)
	}
	m, f, ok, err := readSync(parent)
	if err != nil || !ok || f != nil {
		t.Fatalf("readSync = %v %v %v", f, ok, err)
	}
	err = unexpected(m, "EOF")
	var ee *errdefs.ExitError
	if !errors.As(err, &ee) || ee.Code != CodeNotFound || !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), long) {
		t.Errorf("child error = %v", err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := writeSync(child, syncMsg{Type: syncConsole}, int(w.Fd())); err != nil {
		t.Fatal(err)
	}
	m, f, ok, err = readSync(parent)
	if err != nil || !ok || m.Type != syncConsole || f == nil {
		t.Fatalf("console message = %+v %v %v %v", m, f, ok, err)
	}
	_, _ = f.Write([]byte("hi"))
	f.Close()
	buf := make([]byte, 2)
	if n, _ := r.Read(buf); string(buf[:n]) != "hi" {
		t.Errorf("file sent with the message is not the pipe: read %q", buf[:n])
	}
	if err := unexpected(m, "EOF"); err == nil || !strings.Contains(err.Error(), "protocol") {
		t.Errorf("unexpected console message: %v", err)
	}

	unix.Close(child)
	if _, _, ok, err := readSync(parent); ok || err != nil {
		t.Errorf("after close: ok %v err %v, want EOF", ok, err)
	}
}
