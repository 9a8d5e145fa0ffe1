package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// rlUser is a real unprivileged user the rootless tests run ctr-lite as.
type rlUser struct {
	t        *testing.T
	name     string
	uid, gid int
	home     string
	bin      string // a copy of the binary the user can run
}

// newRootlessUser creates the user name (removed with its home at the
// end), with the subordinate range sub ("START-END") for both uids and
// gids, or none when sub is "".
func newRootlessUser(t *testing.T, name, sub string) *rlUser {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "newuidmap", "uidmap")
	testutil.RequireTool(t, "setpriv", "util-linux")
	testutil.RequireTool(t, "useradd", "passwd")
	if _, err := user.Lookup(name); err == nil {
		// A run killed before its cleanup: start afresh.
		exec.Command("userdel", "-r", name).Run()
	}
	// No automatic range: the test gives the one it wants.
	run(t, "useradd", "-m", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "-r", name).CombinedOutput(); err != nil {
			t.Errorf("userdel -r %s: %v: %s", name, err, out)
		}
	})
	if sub != "" {
		run(t, "usermod", "--add-subuids", sub, "--add-subgids", sub, name)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	r := &rlUser{t: t, name: name, home: u.HomeDir}
	r.uid, _ = strconv.Atoi(u.Uid)
	r.gid, _ = strconv.Atoi(u.Gid)
	r.bin = filepath.Join(r.home, "ctr-lite")
	b, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// ctl runs the binary as the user, with the user's environment and
// --root under the user's home.
func (u *rlUser) ctl(root string, args ...string) result {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{"--reuid=" + u.name, "--regid=" + u.name, "--init-groups", "--reset-env",
		u.bin, "--root", filepath.Join(u.home, root)}, args...)
	cmd := exec.CommandContext(ctx, "setpriv", full...)
	cmd.Dir = u.home
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out: out.String(), err: errb.String()}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	} else if err != nil {
		u.t.Fatalf("setpriv %v: %v", args, err)
	}
	return r
}

func (u *rlUser) must(root string, args ...string) result {
	u.t.Helper()
	r := u.ctl(root, args...)
	if r.code != 0 {
		u.t.Fatalf("as %s: ctr-lite %s: %s", u.name, strings.Join(args, " "), r)
	}
	return r
}

// owner is the host uid and gid of p.
func owner(t *testing.T, p string) (int, int) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return int(st.Uid), int(st.Gid)
}

// entries lists the names in dir ("" entries when it is missing).
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// TestRootlessRun runs ctr-lite as an ordinary user with a subordinate id
// range: pull, run as root of a user namespace, image owners kept (mapped
// into the range on the host), whiteouts and opaque directories honoured
// by overlayfs with userxattr, a volume file owned by the user, unpack,
// limits refused on this cgroup v1 host, rm/gc/fsck of a store holding
// files of the range.
func TestRootlessRun(t *testing.T) {
	const subStart = 200000
	u := newRootlessUser(t, "ctrlite-rl", "200000-265535")
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	bb, deb := refs["busybox"], refs["debian"]
	u.must("r", "pull", "-q", bb)
	u.must("r", "pull", "-q", deb)

	t.Run("root inside", func(t *testing.T) {
		r := u.must("r", "run", "--rm", bb, "id", "-u")
		if r.out != "0\n" {
			t.Errorf("id -u: %q", r.out)
		}
		if n := strings.Count(r.err, "ctr-lite: no cgroup: "); n != 1 {
			t.Errorf("want one no-cgroup notice, got %d: %s", n, r.err)
		}
		if strings.Contains(r.err, "warning:") {
			t.Errorf("full mapping warned: %s", r.err)
		}
	})
	t.Run("init", func(t *testing.T) {
		r := u.ctl("r", "run", "--rm", "--init", bb, "sh", "-c", "cat /proc/1/comm; grep PPid /proc/$$/status; exit 3")
		if r.code != 3 || r.out != "ctr-lite-init\nPPid:\t1\n" {
			t.Errorf("run --init: %s, want exit 3 under ctr-lite-init", r)
		}
	})
	t.Run("image owners", func(t *testing.T) {
		r := u.must("r", "run", "--rm", deb, "stat", "-c", "%u:%g", "/etc/shadow")
		if r.out != "0:42\n" {
			t.Errorf("/etc/shadow owner inside: %q, want 0:42", r.out)
		}
		// The top layer's etc/shadow is 0:42 in the image: on the host, the
		// user and the range's id for 42.
		var got [][2]int
		for _, sn := range entries(t, filepath.Join(u.home, "r", "snapshots")) {
			p := filepath.Join(u.home, "r", "snapshots", sn, "fs", "etc", "shadow")
			if _, err := os.Lstat(p); err == nil {
				uid, gid := owner(t, p)
				got = append(got, [2]int{uid, gid})
			}
		}
		want := [2]int{u.uid, subStart + 42 - 1}
		if !slices.Contains(got, want) {
			t.Errorf("snapshots' etc/shadow owners on the host: %v, want one %v", got, want)
		}
	})
	t.Run("whiteouts and opaque dirs", func(t *testing.T) {
		r := u.must("r", "run", "--rm", deb, "sh", "-c", "ls /var/log; test -e /etc/motd && echo motd; test -e /usr/share/man && echo man; true")
		if r.out != "README\n" {
			t.Errorf("want only var/log/README (opaque) and no etc/motd, usr/share/man (whiteouts): %q", r.out)
		}
	})
	t.Run("volume", func(t *testing.T) {
		vol := filepath.Join(u.home, "vol")
		if err := os.Mkdir(vol, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(vol, u.uid, u.gid); err != nil {
			t.Fatal(err)
		}
		u.must("r", "run", "--rm", "-v", vol+":/vol", bb, "sh", "-c", "echo hi > /vol/made; mkdir /vol/d42; chown 42:42 /vol/d42")
		if uid, gid := owner(t, filepath.Join(vol, "made")); uid != u.uid || gid != u.gid {
			t.Errorf("file made by container root: %d:%d, want the user's %d:%d", uid, gid, u.uid, u.gid)
		}
		if uid, gid := owner(t, filepath.Join(vol, "d42")); uid != subStart+41 || gid != subStart+41 {
			t.Errorf("dir chowned to 42 inside: %d:%d on the host, want %d", uid, gid, subStart+41)
		}
	})
	t.Run("unpack", func(t *testing.T) {
		dir := filepath.Join(u.home, "unpacked")
		u.must("r", "unpack", deb, dir)
		if uid, _ := owner(t, filepath.Join(dir, "etc", "shadow")); uid != u.uid {
			t.Errorf("unpack as the user: etc/shadow owned by %d, want %d", uid, u.uid)
		}
	})
	t.Run("limits refused on cgroup v1", func(t *testing.T) {
		for _, flag := range [][]string{{"--memory", "64m"}, {"--pids-limit", "10"}, {"--cpus", "0.5"}} {
			r := u.ctl("r", append(append([]string{"run", "--rm"}, flag...), bb, "true")...)
			if r.code != 125 || !strings.Contains(r.err, flag[0]) || !strings.Contains(r.err, "cgroup v1 host") {
				t.Errorf("%s as a user on cgroup v1: want 125 saying why: %s", flag[0], r)
			}
		}
		r := u.ctl("r", "run", "--rm", "--device", "/dev/fuse", bb, "true")
		if r.code != 125 {
			t.Errorf("--device as a user: want 125: %s", r)
		}
	})
	t.Run("network", func(t *testing.T) {
		// A server on the host's loopback; user-mode networks reach it
		// through their gateway address.
		port := hostServer(t)
		gw := `$(ip route | awk '/^default/ {print $3}')`
		for _, tt := range []struct {
			name, network, host, ifaces string
			tool                        string
		}{
			{"default is pasta", "", gw, "eth0 lo", "pasta"},
			{"slirp4netns", "slirp4netns", "10.0.2.2", "lo tap0", "slirp4netns"},
			{"host", "host", "127.0.0.1", "", ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if tt.tool != "" {
					pkg := tt.tool
					if pkg == "pasta" {
						pkg = "passt"
					}
					testutil.RequireTool(t, tt.tool, pkg)
				}
				args := []string{"run", "--rm"}
				if tt.network != "" {
					args = append(args, "--network", tt.network)
				}
				script := "echo $(ls /sys/class/net); wget -q -O- http://" + tt.host + ":" + port + "/"
				r := u.must("r", append(args, bb, "sh", "-c", script)...)
				lines := strings.Split(strings.TrimSpace(r.out), "\n")
				if len(lines) != 2 || lines[1] != "from-host" || (tt.ifaces != "" && lines[0] != tt.ifaces) {
					t.Errorf("want interfaces %q and the host's answer: %q", tt.ifaces, r.out)
				}
			})
		}
		t.Run("publish", func(t *testing.T) {
			testutil.RequireTool(t, "pasta", "passt")
			hp := strconv.Itoa(testutil.FreePort(t))
			run := exec.Command("setpriv", append([]string{"--reuid=" + u.name, "--regid=" + u.name, "--init-groups", "--reset-env",
				u.bin, "--root", filepath.Join(u.home, "r"), "run", "--rm", "-p", "127.0.0.1:" + hp + ":8080", bb}, answerOnce...)...)
			run.Dir = u.home
			checkPublished(t, run, hp)
		})
		r := u.must("r", "run", "--rm", "--network", "none", bb, "ls", "/sys/class/net")
		if r.out != "lo\n" {
			t.Errorf("--network none: interfaces %q", r.out)
		}
	})
	t.Run("kill and rm -f", func(t *testing.T) {
		// Containers whose process runs as an id of the range: only the
		// user outside every namespace may signal them.
		for _, tt := range []struct{ name, how string }{{"killed", "kill"}, {"forced", "rm"}} {
			t.Run(tt.name, func(t *testing.T) {
				bg := exec.Command("setpriv", "--reuid="+u.name, "--regid="+u.name, "--init-groups", "--reset-env",
					u.bin, "--root", filepath.Join(u.home, "r"), "run", "--name", tt.name, "-u", "nobody", "--network", "none", bb, "sleep", "300")
				bg.Dir = u.home
				if err := bg.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan struct{}) // closed once bg has exited
				go func() { bg.Wait(); close(done) }()
				t.Cleanup(func() {
					select {
					case <-done:
					default:
						bg.Process.Kill()
						<-done
					}
				})
				deadline := time.Now().Add(10 * time.Second)
				for !strings.Contains(u.ctl("r", "ps").out, tt.name) {
					if time.Now().After(deadline) {
						t.Fatal("the container did not start")
					}
					time.Sleep(20 * time.Millisecond)
				}
				if tt.how == "kill" {
					u.must("r", "kill", tt.name)
				} else {
					u.must("r", "rm", "-f", tt.name)
				}
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatalf("%s did not end the container", tt.how)
				}
				if tt.how == "kill" {
					u.must("r", "rm", tt.name)
				}
			})
		}
	})
	t.Run("detached: logs, stop, start, rm", func(t *testing.T) {
		id := strings.TrimSpace(u.must("r", "run", "-d", "--name", "bg", bb, "sh", "-c",
			`trap "exit 3" TERM; echo up-$(id -u); while true; do sleep 0.1; done`).out)
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(u.ctl("r", "logs", id).out, "up-0") {
			if time.Now().After(deadline) {
				t.Fatalf("logs: %s", u.ctl("r", "logs", id))
			}
			time.Sleep(50 * time.Millisecond)
		}
		u.must("r", "stop", "-t", "5", "bg")
		if r := u.must("r", "wait", "bg"); r.out != "3\n" {
			t.Errorf("wait after stop: %q", r.out)
		}
		u.must("r", "start", "bg")
		u.must("r", "stop", "-t", "5", "bg")
		if r := u.must("r", "logs", "bg"); strings.Count(r.out, "up-0") != 2 {
			t.Errorf("two runs, logs: %q", r.out)
		}
		u.must("r", "rm", "bg")
	})
	t.Run("rm gc fsck", func(t *testing.T) {
		u.must("r", "run", "--name", "kept", deb, "sh", "-c", "echo x > /root/new; chown 7:7 /root/new")
		u.must("r", "rm", "kept")
		if c := entries(t, filepath.Join(u.home, "r", "containers")); len(c) != 0 {
			t.Errorf("rm left %v", c)
		}
		u.must("r", "fsck")
		u.must("r", "rmi", bb, deb)
		u.must("r", "gc")
		if sn := entries(t, filepath.Join(u.home, "r", "snapshots")); len(sn) != 0 {
			t.Errorf("gc left snapshots %v", sn)
		}
	})
}

// TestRootlessSingleID runs as a user without a subordinate range: one
// warning, container root is the user, every file the user's.
func TestRootlessSingleID(t *testing.T) {
	u := newRootlessUser(t, "ctrlite-rl1", "")
	_, refs := corpusRegistry(t, testutil.RegistryOptions{})
	deb := refs["debian"]
	r := u.must("s", "run", "--rm", deb, "sh", "-c", "id -u; stat -c %u:%g /etc/shadow; ls /var/log")
	if r.out != "0\n0:0\nREADME\n" {
		t.Errorf("single mapping: %q, want root inside, shadow 0:0 and the opaque var/log", r.out)
	}
	if n := strings.Count(r.err, "warning:"); n != 1 || !strings.Contains(r.err, "only your own uid is mapped") {
		t.Errorf("want one warning about the single mapping: %s", r.err)
	}
	r = u.must("s", "gc")
	if strings.Contains(r.err, "warning:") {
		t.Errorf("gc warned again: %s", r.err)
	}
}

// hostServer serves "from-host" on the host's loopback and returns its port.
func hostServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "from-host") })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestUserModeNetworkAsRoot: --network pasta and slirp4netns work as root
// too (pasta is told to stay root, or it would become nobody and could not
// join the namespace).
func TestUserModeNetworkAsRoot(t *testing.T) {
	e, bb := busyboxEnv(t)
	port := hostServer(t)
	for _, tt := range []struct{ network, pkg, host, ifaces string }{
		{"pasta", "passt", `$(ip route | awk '/^default/ {print $3}')`, "eth0 lo"},
		{"slirp4netns", "slirp4netns", "10.0.2.2", "lo tap0"},
	} {
		t.Run(tt.network, func(t *testing.T) {
			testutil.RequireTool(t, tt.network, tt.pkg)
			out := e.must("run", "--rm", "--network", tt.network, bb, "sh", "-c", "echo $(ls /sys/class/net); wget -q -O- http://"+tt.host+":"+port+"/")
			if out != tt.ifaces+"\nfrom-host" {
				t.Errorf("want interfaces %q and the host's answer: %q", tt.ifaces, out)
			}
		})
	}
}

// checkPublished starts run, a container that answers one connection on
// its port 8080 with "from-container", published on the host's port, and
// checks that 127.0.0.1:port reaches it.
func checkPublished(t *testing.T, run *exec.Cmd, port string) {
	t.Helper()
	var errb bytes.Buffer
	run.Stderr = &errb
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { run.Wait(); close(done) }()
	defer func() {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			run.Process.Kill()
			<-done
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := ""
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			got = string(b)
		}
		if got == "from-container\n" {
			return
		}
		select {
		case <-done:
			t.Fatalf("the container ended before answering on 127.0.0.1:%s: %s", port, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("127.0.0.1:%s: %q, want the container's answer", port, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answerOnce is the container's side of checkPublished.
var answerOnce = []string{"sh", "-c", "echo from-container | nc -l -p 8080"}

// TestPublishAsRoot: -p with --network pasta publishes a container port on
// the host; other networks refuse -p.
func TestPublishAsRoot(t *testing.T) {
	testutil.RequireTool(t, "pasta", "passt")
	e, bb := busyboxEnv(t)
	port := strconv.Itoa(testutil.FreePort(t))
	checkPublished(t, e.bin(context.Background(), append([]string{"run", "--rm", "--network", "pasta", "-p", "127.0.0.1:" + port + ":8080", bb}, answerOnce...)...), port)
	for _, n := range []string{"host", "none", "slirp4netns"} {
		if r := e.ctl("run", "--rm", "--network", n, "-p", port+":8080", bb, "true"); r.code != 125 {
			t.Errorf("-p with --network %s: want 125: %s", n, r)
		}
	}
}
