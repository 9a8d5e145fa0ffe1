package confine

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// tree makes base/outside/secret (the host's file) and base/root, with a
// decoy root/outside/secret where a confined resolution lands, and
// symlinks that try to escape. It returns an O_PATH fd of root.
func tree(t *testing.T) (base string, rootfd int) {
	t.Helper()
	base = t.TempDir()
	root := filepath.Join(base, "root")
	for _, d := range []string{"outside", "root/outside", "root/dir/sub"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"outside/secret", "root/outside/secret", "root/dir/file"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"up":       "../../outside",                  // relative, climbs out
		"abs":      "/outside",                       // absolute
		"host":     filepath.Join(base, "outside"),   // the host's absolute path
		"deep":     "dir/sub/../../../../../outside", // .. through real dirs
		"loop":     "loop2",
		"loop2":    "loop",
		"tofile":   "/dir/file",
		"dangling": "../../../made/here",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return base, fd
}

func ino(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func resolvers() map[string]func(int, string, int) (int, error) {
	return map[string]func(int, string, int) (int, error){"openat2": Open, "walk": Walk}
}

func TestOpenStaysInside(t *testing.T) {
	base, rootfd := tree(t)
	decoy := ino(t, filepath.Join(base, "root/outside/secret"))
	file := ino(t, filepath.Join(base, "root/dir/file"))
	tests := []struct {
		path string
		want uint64 // inode opened; 0 means an error
		err  error
	}{
		{"up/secret", decoy, nil},
		{"abs/secret", decoy, nil},
		{"/../../outside/secret", decoy, nil},
		{"deep/secret", decoy, nil},
		{"dir/sub/../../up/secret", decoy, nil},
		{"tofile", file, nil},
		{"host/secret", 0, unix.ENOENT},
		{"loop/x", 0, unix.ELOOP},
		{"loop", 0, unix.ELOOP},
		{"dir/file/x", 0, unix.ENOTDIR},
	}
	for name, open := range resolvers() {
		for _, flags := range []int{unix.O_PATH, unix.O_RDONLY} {
			for _, tc := range tests {
				fd, err := open(rootfd, tc.path, flags)
				if tc.want == 0 {
					if err != tc.err {
						t.Errorf("%s %s (flags %#x): err %v, want %v", name, tc.path, flags, err, tc.err)
					}
					if err == nil {
						unix.Close(fd)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s %s (flags %#x): %v", name, tc.path, flags, err)
					continue
				}
				var st unix.Stat_t
				_ = unix.Fstat(fd, &st)
				unix.Close(fd)
				if st.Ino != tc.want {
					t.Errorf("%s %s (flags %#x): opened inode %d, want %d (inside the root)", name, tc.path, flags, st.Ino, tc.want)
				}
			}
		}
	}
}

func TestOpenNoFollowAndDirectory(t *testing.T) {
	_, rootfd := tree(t)
	for name, open := range resolvers() {
		fd, err := open(rootfd, "abs", unix.O_PATH|unix.O_NOFOLLOW)
		if err != nil {
			t.Fatalf("%s: O_NOFOLLOW on a symlink: %v", name, err)
		}
		var st unix.Stat_t
		_ = unix.Fstat(fd, &st)
		unix.Close(fd)
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			t.Errorf("%s: O_NOFOLLOW opened mode %o, want the symlink", name, st.Mode)
		}
		if _, err := open(rootfd, "tofile", unix.O_PATH|unix.O_DIRECTORY); err != unix.ENOTDIR {
			t.Errorf("%s: O_DIRECTORY on a file: %v, want ENOTDIR", name, err)
		}
	}
}

func TestMkdirAllStaysInside(t *testing.T) {
	base, rootfd := tree(t)
	root := filepath.Join(base, "root")
	for _, p := range []string{"up/new/dir", "abs/new2", "dangling/sub", "../../escape"} {
		fd, err := MkdirAll(rootfd, p, false)
		if err != nil {
			t.Errorf("MkdirAll %s: %v", p, err)
			continue
		}
		unix.Close(fd)
	}
	for _, p := range []string{"outside/new/dir", "outside/new2", "made/here/sub", "escape"} {
		if fi, err := os.Stat(filepath.Join(root, p)); err != nil || !fi.IsDir() {
			t.Errorf("%s not made inside the root: %v", p, err)
		}
	}
	for _, p := range []string{"outside/new", "outside/new2", "made", "escape"} {
		if _, err := os.Stat(filepath.Join(base, p)); err == nil {
			t.Errorf("%s made outside the root", p)
		}
	}
	fd, err := MkdirAll(rootfd, "up/newfile", true)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	if fi, err := os.Stat(filepath.Join(root, "outside/newfile")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("file not made inside the root: %v", err)
	}
	if _, err := MkdirAll(rootfd, "loop/x", false); err == nil {
		t.Error("MkdirAll through a symlink loop succeeded")
	}
}
