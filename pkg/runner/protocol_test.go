package runner

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/runner/seccomp"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"

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

// TestConfigCarriesFilter: the compiled seccomp filter of the default
// profile arrives whole and in order, while the profile it was compiled
// from stays out of the config (and in the caller's spec).
func TestConfigCarriesFilter(t *testing.T) {
	s, err := rspec.Build(ocispec.ImageConfig{}, "/rootfs", rspec.Options{Args: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux.Seccomp == nil {
		t.Fatal("the default spec has no seccomp profile")
	}
	prog, err := seccomp.Compile(s.Linux.Seccomp)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(initConfig{Spec: childSpec(s), Seccomp: prog})
	if err != nil {
		t.Fatal(err)
	}
	var got initConfig
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Seccomp, prog) || len(prog) < 10 {
		t.Errorf("filter of %d instructions arrived as %d, not the same", len(prog), len(got.Seccomp))
	}
	if got.Spec.Linux.Seccomp != nil || s.Linux.Seccomp == nil {
		t.Errorf("profile sent: %v; kept in the caller's spec: %v", got.Spec.Linux.Seccomp != nil, s.Linux.Seccomp != nil)
	}
	if len(b) > 16<<10 {
		t.Errorf("config of %d bytes", len(b))
	}
	var empty initConfig
	if err := json.Unmarshal([]byte(`{"Seccomp":"AAAA"}`), &empty); err == nil {
		t.Error("a program of 3 bytes was accepted")
	}
}
