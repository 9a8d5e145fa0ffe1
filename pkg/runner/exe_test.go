package runner

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// TestSealedExeNotWritable: the file the child is exec'd from can be
// neither opened for writing nor written (CVE-2019-5736), and it is not the
// host binary's inode.
func TestSealedExeNotWritable(t *testing.T) {
	testutil.RequireRoot(t)
	var host unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &host); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		make func() (*os.File, error)
	}{
		{"overlayfs", overlayExe},
		{"memfd", makeSealedExe},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tc.make()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var st unix.Stat_t
			if err := unix.Fstat(int(f.Fd()), &st); err != nil {
				t.Fatal(err)
			}
			if st.Dev == host.Dev && st.Ino == host.Ino {
				t.Errorf("child would run the host binary's inode itself")
			}
			if st.Size != host.Size {
				t.Errorf("sealed binary has %d bytes, host binary %d", st.Size, host.Size)
			}
			w, err := os.OpenFile(fdPath(int(f.Fd())), os.O_WRONLY, 0)
			if err == nil {
				_, err = w.Write([]byte("pwned"))
				w.Close()
			}
			if err == nil {
				t.Fatalf("sealed binary is writable")
			}
			if err := unix.Ftruncate(int(f.Fd()), 0); err == nil {
				t.Errorf("sealed binary can be truncated")
			}
		})
	}
}
