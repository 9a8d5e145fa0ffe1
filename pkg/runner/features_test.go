package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

func TestTerminal(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	master, slave := testutil.OpenPty(t)
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 101}); err != nil {
		t.Fatal(err)
	}
	opts := sh("read line; echo got:$line; tty; stty size; test -t 0 && echo isatty")
	opts.Terminal = true
	s := build(t, root, img, opts)
	lines := ptyLines(master)
	type res struct {
		code int
		err  error
	}
	done := make(chan res, 1)
	go func() {
		code, err := Run(context.Background(), Config{ID: testID(t), Spec: s, StateDir: t.TempDir()}, Stdio{In: slave, Out: slave})
		done <- res{code, err}
	}()
	if _, err := master.Write([]byte("hello\r")); err != nil {
		t.Fatal(err)
	}
	var got []string
	var r res
	timeout := time.After(20 * time.Second) // a hang guard, not a timing assertion
wait:
	for {
		select {
		case r = <-done:
			break wait
		case <-timeout:
			t.Fatalf("container did not finish; output so far %q", got)
		}
	}
	// Drain what the container wrote.
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				goto check
			}
			got = append(got, l)
			if l == "isatty" {
				goto check
			}
		case <-time.After(5 * time.Second):
			goto check
		}
	}
check:
	if r.err != nil || r.code != 0 {
		t.Fatalf("code %d err %v", r.code, r.err)
	}
	out := strings.Join(got, "\n")
	for _, want := range []string{"got:hello", "/dev/pts/0", "33 101", "isatty"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
}

func TestVolumesAndReadOnly(t *testing.T) {
	testutil.RequireRoot(t)
	root, img := busybox(t)
	rw, ro := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "data"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		opts   rspec.Options
		script string
		want   string
		check  func(t *testing.T)
	}{
		{"rw volume", rspec.Options{Volumes: []string{rw + ":/data"}}, "echo hi > /data/out && echo ok", "ok\n", func(t *testing.T) {
			if b, err := os.ReadFile(filepath.Join(rw, "out")); err != nil || string(b) != "hi\n" {
				t.Errorf("host did not see the write: %q %v", b, err)
			}
		}},
		{"ro volume", rspec.Options{Volumes: []string{ro + ":/in:ro"}}, "cat /in/data; echo x > /in/data || echo refused", "from host\nrefused\n", func(t *testing.T) {
			if b, _ := os.ReadFile(filepath.Join(ro, "data")); string(b) != "from host\n" {
				t.Errorf("ro volume was written: %q", b)
			}
		}},
		{"read-only rootfs", rspec.Options{ReadOnly: true}, "touch /x || echo refused; touch /dev/shm/x && echo shm-ok", "refused\nshm-ok\n", func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(root, "x")); err == nil {
				t.Errorf("read-only rootfs was written")
			}
		}},
		{"tmpfs", rspec.Options{ReadOnly: true, Tmpfs: []string{"/scratch"}}, "echo a > /scratch/a && cat /scratch/a", "a\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Args = []string{"sh", "-c", tc.script}
			r := runSpec(t, testID(t), build(t, root, img, opts), nil, "")
			if r.err != nil || r.stdout != tc.want {
				t.Fatalf("got %q (err %v, stderr %q), want %q", r.stdout, r.err, r.stderr, tc.want)
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}

// groupsOf lists the gids whose member list names user in an /etc/group.
func groupsOf(t *testing.T, groupFile, user string, primary string) []string {
	t.Helper()
	b, err := os.ReadFile(groupFile)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{primary}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 4 && f[2] != primary {
			for _, m := range strings.Split(f[3], ",") {
				if m == user {
					out = append(out, f[2])
				}
			}
		}
	}
	return out
}

func TestImageConfig(t *testing.T) {
	testutil.RequireRoot(t)
	root := alpine(t)
	img := ocispec.ImageConfig{
		User: "daemon", Env: []string{"FOO=from-image", "PATH=/usr/bin:/bin"}, WorkingDir: "/srv/app",
		Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"exit 9"},
	}
	script := `id -u; id -g; id -G; pwd; echo $FOO $BAR $HOME $PATH`
	want := func(uid, gid string, groups []string, cwd, foo, bar, home, path string) string {
		return strings.Join([]string{uid, gid, strings.Join(groups, " "), cwd, strings.Join(strings.Fields(strings.Join([]string{foo, bar, home, path}, " ")), " ")}, "\n") + "\n"
	}
	daemonGroups := groupsOf(t, filepath.Join(root, "etc/group"), "daemon", "2")
	tests := []struct {
		name string
		opts rspec.Options
		want string
	}{
		{"from image", rspec.Options{Args: []string{script}}, want("2", "2", daemonGroups, "/srv/app", "from-image", "", "/sbin", "/usr/bin:/bin")},
		{"flags win", rspec.Options{Args: []string{script}, User: "nobody:nogroup", WorkDir: "/tmp", Env: []string{"FOO=flag", "BAR=b"}},
			want("65534", "65533", []string{"65533"}, "/tmp", "flag", "b", "/", "/usr/bin:/bin")},
		{"numeric user", rspec.Options{Args: []string{script}, User: "1234:5678"}, want("1234", "5678", []string{"5678"}, "/srv/app", "from-image", "", "/", "/usr/bin:/bin")},
		{"image cmd", rspec.Options{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runSpec(t, testID(t), build(t, root, img, tc.opts), nil, "")
			if tc.name == "image cmd" {
				if r.code != 9 {
					t.Errorf("image Entrypoint+Cmd: code %d, want 9", r.code)
				}
				return
			}
			if r.err != nil || r.stdout != tc.want {
				t.Errorf("got %q (err %v stderr %q), want %q", r.stdout, r.err, r.stderr, tc.want)
			}
		})
	}
}

// overlayRoot prepares two lower dirs (the busybox rootfs and a layer with
// extra files) plus upper/work, and returns the overlay RootMounts.
func overlayRoot(t *testing.T, files map[string]string) (lower1, upper, mnt string, img ocispec.ImageConfig, rm []specs.Mount) {
	t.Helper()
	lower1, img = busybox(t)
	base := t.TempDir()
	lower2, work := filepath.Join(base, "l2"), filepath.Join(base, "work")
	upper, mnt = filepath.Join(base, "upper"), filepath.Join(base, "rootfs")
	for _, d := range []string{lower2, upper, work, mnt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range files {
		p := filepath.Join(lower2, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rm = []specs.Mount{{Type: "overlay", Source: "overlay", Options: []string{
		"lowerdir=" + lower2 + ":" + lower1, "upperdir=" + upper, "workdir=" + work}}}
	return lower1, upper, mnt, img, rm
}

// TestOverlayRootMounts stacks two lower dirs and an upper with overlayfs
// mounted inside the container's mount namespace.
func TestOverlayRootMounts(t *testing.T) {
	testutil.RequireRoot(t)
	lower1, upper, mnt, img, rm := overlayRoot(t, map[string]string{"etc/motd": "upper layer wins\n"})
	s := build(t, lower1, img, sh("cat /etc/motd; echo new > /created; rm /bin/true; ls /bin/true || echo gone"))
	s.Root.Path = mnt
	r := runSpec(t, testID(t), s, rm, "")
	if r.err != nil || !strings.HasPrefix(r.stdout, "upper layer wins\n") || !strings.HasSuffix(r.stdout, "gone\n") {
		t.Fatalf("got %q err %v stderr %q", r.stdout, r.err, r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(upper, "created")); err != nil || string(b) != "new\n" {
		t.Errorf("write did not land in upperdir: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(lower1, "bin/true")); err != nil {
		t.Errorf("lower layer modified: %v", err)
	}
	if entries, _ := os.ReadDir(mnt); len(entries) != 0 {
		t.Errorf("overlay leaked into the host mount namespace: %d entries at %s", len(entries), mnt)
	}
}

// TestUserResolvedInside: Build without a readable rootfs defers the user
// to the runner, which reads the merged overlay's own passwd and group.
func TestUserResolvedInside(t *testing.T) {
	testutil.RequireRoot(t)
	_, _, mnt, img, rm := overlayRoot(t, map[string]string{
		"etc/passwd": "root:x:0:0::/root:/bin/sh\napp:x:4321:4322::/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\napp:x:4322:\nextra:x:777:app\n",
	})
	tests := []struct {
		user string
		want string
		code int
	}{
		{"app", "4321 4322 4322 777 /home/app\n", 0},
		{"app:extra", "4321 777 777 /home/app\n", 0},
		{"ghost", "", CodeRunnerFailed},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			opts := sh(`echo $(id -u) $(id -g) $(id -G) $HOME`)
			opts.User = tc.user
			s, err := rspec.Build(img, "", opts)
			if err != nil {
				t.Fatal(err)
			}
			s.Root.Path = mnt
			r := runSpec(t, testID(t), s, rm, "")
			if r.code != tc.code || r.stdout != tc.want {
				t.Errorf("got %d %q (err %v), want %d %q", r.code, r.stdout, r.err, tc.code, tc.want)
			}
		})
	}
}

// TestBundle runs the bundle under runc and crun. crun 1.8 refuses this
// host's hybrid cgroup layout, so it runs in a private mount namespace with
// /sys/fs/cgroup/unified unmounted.
func TestBundle(t *testing.T) {
	testutil.RequireRoot(t)
	rootfs, img := busybox(t)
	tests := []struct {
		name string
		argv func(dir, id string) []string
	}{
		{"runc", func(dir, id string) []string { return []string{"runc", "run", "-b", dir, id} }},
		{"runc via RunRuntime", nil},
		{"crun", func(dir, id string) []string {
			return []string{"unshare", "-m", "--propagation", "private", "sh", "-c",
				"umount /sys/fs/cgroup/unified 2>/dev/null; exec crun run -b \"$0\" \"$1\"", dir, id}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin, _, _ := strings.Cut(tc.name, " ")
			testutil.RequireTool(t, bin, bin)
			dir := t.TempDir()
			if err := os.Rename(rootfs, filepath.Join(dir, "rootfs")); err != nil {
				t.Fatal(err)
			}
			defer os.Rename(filepath.Join(dir, "rootfs"), rootfs)
			id := testID(t)
			opts := sh("echo $$; hostname; grep -E '^(CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; exit 5")
			opts.Memory = 64 << 20
			s := build(t, filepath.Join(dir, "rootfs"), img, opts)
			if err := WriteBundle(dir, id, s); err != nil {
				t.Fatal(err)
			}
			var out []byte
			if tc.argv == nil {
				var buf bytes.Buffer
				code, err := RunRuntime(context.Background(), "runc", dir, id, Stdio{Out: &buf, Err: &buf}, nil)
				if err != nil || code != 5 {
					t.Fatalf("RunRuntime: %d %v, want exit 5\n%s", code, err, buf.String())
				}
				out = buf.Bytes()
			} else {
				cmd := exec.Command(tc.argv(dir, id)[0], tc.argv(dir, id)[1:]...)
				var err error
				out, err = cmd.CombinedOutput()
				ee, _ := err.(*exec.ExitError)
				if ee == nil || ee.ExitCode() != 5 {
					t.Fatalf("%s: err %v, want exit 5\n%s", tc.name, err, out)
				}
			}
			want := fmt.Sprintf("1\n%s\nCapBnd:\t%s\nNoNewPrivs:\t1\nSeccomp:\t2\n", shortID(id), capMask(rspec.Defaults("host")))
			if string(out) != want {
				t.Errorf("%s output %q, want %q", tc.name, out, want)
			}
		})
	}
}
