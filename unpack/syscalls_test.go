package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"golang.org/x/sys/unix"
)

// fileSyscalls are the system calls the unpacker may spend on a file.
var fileSyscalls = []string{"openat", "write", "newfstatat", "fstat", "fcntl", "utimensat", "close",
	"fchown", "fchmod", "fchmodat", "fsetxattr", "unlinkat", "mkdirat", "lseek", "ftruncate"}

// TestSmallFileSyscalls counts, with strace, the system calls the flat
// unpack makes per small file in a fresh directory: at most 4 (openat,
// write, utimensat, close). A layer with one file is counted too and
// subtracted, so what starts the test binary, the directory and the first
// file (one-time checks) is not spread over the other files.
func TestSmallFileSyscalls(t *testing.T) {
	const files = 2000
	if dir := os.Getenv("CTRLITE_SYSCOUNT_DIR"); dir != "" {
		n, err := strconv.Atoi(os.Getenv("CTRLITE_SYSCOUNT_FILES"))
		if err != nil {
			t.Fatal(err)
		}
		var es []testutil.Entry
		es = append(es, testutil.Dir("d"))
		for i := range n {
			es = append(es, testutil.File(fmt.Sprintf("d/f%05d", i), "small file"))
		}
		if _, err := Apply(context.Background(), dir, bytes.NewReader(testutil.Layer(t, es)), Options{}); err != nil {
			t.Fatal(err)
		}
		return
	}
	strace := testutil.RequireTool(t, "strace", "strace")
	count := func(n int) (int, map[string]int) {
		out := filepath.Join(t.TempDir(), "strace")
		cmd := exec.Command(strace, "-f", "-c", "-o", out, "-e", "trace="+strings.Join(fileSyscalls, ","),
			os.Args[0], "-test.run=^TestSmallFileSyscalls$")
		cmd.Env = append(os.Environ(), "CTRLITE_SYSCOUNT_DIR="+t.TempDir(), "CTRLITE_SYSCOUNT_FILES="+strconv.Itoa(n))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("unpack under strace: %v\n%s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		total, per := 0, map[string]int{}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			// % time, seconds, usecs/call, calls, [errors,] syscall
			if len(f) < 5 || !slices.Contains(fileSyscalls, f[len(f)-1]) {
				continue
			}
			c, err := strconv.Atoi(f[3])
			if err != nil {
				continue
			}
			per[f[len(f)-1]] = c
			total += c
		}
		return total, per
	}
	base, basePer := count(1)
	total, per := count(1 + files)
	perFile := float64(total-base) / files
	t.Logf("per small file: %.3f system calls (%v; with one file: %v)", perFile, per, basePer)
	// The Go runtime now and then writes to its eventfd to wake the
	// network poller (a write that has nothing to do with the files):
	// allow a few such calls in all, not per file.
	const runtimeSlack = 3
	if total-base > 4*files+runtimeSlack {
		t.Errorf("%.3f file system calls per small file, want at most 4: %v (with one file: %v)", perFile, per, basePer)
	}
}

// TestNewFileOwnerAndMode: without an fstat per file, a new file still
// gets the layer's owner and mode, in a setgid directory (which would pass
// its group on) and past the umask.
func TestNewFileOwnerAndMode(t *testing.T) {
	testutil.RequireRoot(t)
	layer := testutil.Layer(t, []testutil.Entry{
		{Type: tar.TypeDir, Name: "g", Mode: 0o2775, GID: 1234},
		{Name: "g/root-owned", Mode: 0o666, Content: []byte("x")},
		{Name: "g/group-1234", Mode: 0o640, GID: 1234, Content: []byte("x")},
		{Name: "plain", Mode: 0o777, UID: 1000, GID: 1000, Content: []byte("x")},
	})
	for _, mode := range []Mode{Flat, Overlay} {
		dir := t.TempDir()
		if _, err := Apply(context.Background(), dir, bytes.NewReader(layer), Options{Mode: mode}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			path     string
			uid, gid uint32
			perm     uint32
		}{
			{"g/root-owned", 0, 0, 0o666},
			{"g/group-1234", 0, 1234, 0o640},
			{"plain", 1000, 1000, 0o777},
		} {
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(dir, c.path), &st); err != nil {
				t.Fatal(err)
			}
			if st.Uid != c.uid || st.Gid != c.gid || st.Mode&0o7777 != c.perm {
				t.Errorf("mode %d: %s is %d:%d %o, want %d:%d %o", mode, c.path, st.Uid, st.Gid, st.Mode&0o7777, c.uid, c.gid, c.perm)
			}
		}
	}
}
