package spec

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fakeRoot writes a minimal rootfs with passwd and group files.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nnohome:x:1001:1001:::/bin/sh\n")
	write("group", "root:x:0:\napp:x:1000:\nwheel:x:10:app\naudio:x:29:app,other\n")
	return root
}

func TestBuildCommand(t *testing.T) {
	ep := []string{"/ep"}
	empty := []string{}
	tests := []struct {
		name string
		img  ocispec.ImageConfig
		opts Options
		want []string
		err  error
	}{
		{"cmd only", ocispec.ImageConfig{Cmd: []string{"sh"}}, Options{}, []string{"sh"}, nil},
		{"entrypoint + cmd", ocispec.ImageConfig{Entrypoint: []string{"/init"}, Cmd: []string{"-v"}}, Options{}, []string{"/init", "-v"}, nil},
		{"args replace cmd", ocispec.ImageConfig{Entrypoint: []string{"/init"}, Cmd: []string{"-v"}}, Options{Args: []string{"x"}}, []string{"/init", "x"}, nil},
		{"entrypoint flag drops image cmd", ocispec.ImageConfig{Entrypoint: []string{"/init"}, Cmd: []string{"-v"}}, Options{Entrypoint: &ep}, []string{"/ep"}, nil},
		{"empty entrypoint flag", ocispec.ImageConfig{Entrypoint: []string{"/init"}}, Options{Entrypoint: &empty, Args: []string{"ls"}}, []string{"ls"}, nil},
		{"nothing", ocispec.ImageConfig{}, Options{}, nil, ErrNoCommand},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Build(tc.img, fakeRoot(t), tc.opts)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err == nil && !slices.Equal(s.Process.Args, tc.want) {
				t.Errorf("args %q, want %q", s.Process.Args, tc.want)
			}
		})
	}
}

func TestBuildUserAndEnv(t *testing.T) {
	root := fakeRoot(t)
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# comment\nFROMFILE=1\nA=file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		img       ocispec.ImageConfig
		opts      Options
		uid, gid  uint32
		groups    []uint32
		env       []string
		errSubstr string
	}{
		{"default root", ocispec.ImageConfig{}, Options{}, 0, 0, nil, []string{"PATH=" + DefaultPath, "HOME=/root"}, ""},
		{"image user with groups", ocispec.ImageConfig{User: "app", Env: []string{"PATH=/bin"}}, Options{}, 1000, 1000, []uint32{10, 29}, []string{"PATH=/bin", "HOME=/home/app"}, ""},
		{"flag user:group", ocispec.ImageConfig{User: "app"}, Options{User: "app:wheel"}, 1000, 10, nil, []string{"PATH=" + DefaultPath, "HOME=/home/app"}, ""},
		{"numeric unknown", ocispec.ImageConfig{}, Options{User: "4242:4343"}, 4242, 4343, nil, []string{"PATH=" + DefaultPath, "HOME=/"}, ""},
		{"no home in passwd", ocispec.ImageConfig{}, Options{User: "nohome"}, 1001, 1001, nil, []string{"PATH=" + DefaultPath, "HOME=/"}, ""},
		{"unknown name", ocispec.ImageConfig{}, Options{User: "ghost"}, 0, 0, nil, nil, "ghost"},
		{"uid out of range", ocispec.ImageConfig{}, Options{User: "4294967296"}, 0, 0, nil, nil, "4294967296"},
		{"env merge order", ocispec.ImageConfig{Env: []string{"A=img", "B=img"}}, Options{EnvFiles: []string{envFile}, Env: []string{"B=flag", "HOME=/h"}},
			0, 0, nil, []string{"A=file", "B=flag", "FROMFILE=1", "HOME=/h", "PATH=" + DefaultPath}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.img.Cmd = []string{"true"}
			s, err := Build(tc.img, root, tc.opts)
			if tc.errSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSubstr) {
					t.Fatalf("err %v, want one naming %q", err, tc.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u := s.Process.User
			if u.UID != tc.uid || u.GID != tc.gid || !slices.Equal(u.AdditionalGids, tc.groups) {
				t.Errorf("user %d:%d %v, want %d:%d %v", u.UID, u.GID, u.AdditionalGids, tc.uid, tc.gid, tc.groups)
			}
			env := slices.Clone(s.Process.Env)
			slices.Sort(env)
			want := slices.Clone(tc.env)
			slices.Sort(want)
			if !slices.Equal(env, want) {
				t.Errorf("env %q, want %q", env, want)
			}
		})
	}
}

// A passwd that is an absolute symlink is read inside the rootfs, never
// from the host.
func TestBuildPasswdSymlinkStaysInside(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	// The host has root in /etc/passwd; the rootfs has no passwd at all.
	_, err := Build(ocispec.ImageConfig{Cmd: []string{"x"}}, root, Options{User: "root"})
	if err == nil {
		t.Fatal("user name resolved through a symlink to the host's /etc/passwd")
	}
}

func TestBuildSecurityDefaults(t *testing.T) {
	root := fakeRoot(t)
	img := ocispec.ImageConfig{Cmd: []string{"sh"}}
	s, err := Build(img, root, Options{Network: "none", Memory: 64 << 20, CPUs: 0.5, PidsLimit: 20, CgroupParent: "grp"})
	if err != nil {
		t.Fatal(err)
	}
	var ns []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, n.Type)
	}
	for _, want := range []specs.LinuxNamespaceType{specs.MountNamespace, specs.PIDNamespace, specs.UTSNamespace, specs.IPCNamespace, specs.CgroupNamespace, specs.NetworkNamespace} {
		if !slices.Contains(ns, want) {
			t.Errorf("namespace %s missing", want)
		}
	}
	if !slices.Equal(s.Process.Capabilities.Bounding, DefaultCaps) || !s.Process.NoNewPrivileges || s.Linux.Seccomp == nil {
		t.Errorf("security defaults missing: caps %v nnp %v seccomp %v", s.Process.Capabilities.Bounding, s.Process.NoNewPrivileges, s.Linux.Seccomp != nil)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("masked/readonly paths: %v %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	r := s.Linux.Resources
	if *r.Memory.Limit != 64<<20 || *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 || *r.Pids.Limit != 20 {
		t.Errorf("resources %+v", r)
	}
	if s.Annotations[AnnotationCgroupParent] != "grp" {
		t.Errorf("cgroup parent annotation missing")
	}
	p, err := Build(img, root, Options{Privileged: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Linux.Seccomp != nil || p.Process.NoNewPrivileges || len(p.Linux.MaskedPaths) != 0 || len(p.Process.Capabilities.Bounding) <= len(DefaultCaps) {
		t.Errorf("privileged keeps restrictions")
	}
}

func TestBuildOptionErrors(t *testing.T) {
	root := fakeRoot(t)
	img := ocispec.ImageConfig{Cmd: []string{"sh"}}
	tests := []struct {
		name string
		opts Options
		err  error
	}{
		{"bad dns", Options{DNS: []string{"example.com"}}, ErrInvalidOption},
		{"bad add-host", Options{AddHosts: []string{"nohost"}}, ErrInvalidOption},
		{"bad add-host ip", Options{AddHosts: []string{"db:300.1.1.1"}}, ErrInvalidOption},
		{"relative volume", Options{Volumes: []string{"data:/data"}}, ErrInvalidOption},
		{"volume to root", Options{Volumes: []string{"/tmp:/"}}, ErrInvalidOption},
		{"volume bad option", Options{Volumes: []string{"/tmp:/x:zz"}}, ErrInvalidOption},
		{"relative tmpfs", Options{Tmpfs: []string{"tmp"}}, ErrInvalidOption},
		{"tiny memory", Options{Memory: 1024}, ErrInvalidOption},
		{"unknown cap", Options{CapAdd: []string{"FLY"}}, ErrUnknownCapability},
		{"relative workdir", Options{WorkDir: "srv"}, ErrInvalidOption},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Build(img, root, tc.opts); !errors.Is(err, tc.err) {
				t.Errorf("err %v, want %v", err, tc.err)
			}
		})
	}
}

func TestCapSet(t *testing.T) {
	tests := []struct {
		name      string
		network   string
		add, drop []string
		has, not  []string
	}{
		{"add", "none", []string{"net_admin"}, nil, []string{"CAP_NET_ADMIN", "CAP_CHOWN"}, nil},
		{"drop", "none", nil, []string{"CAP_CHOWN", "kill"}, []string{"CAP_SETUID"}, []string{"CAP_CHOWN", "CAP_KILL"}},
		{"drop all add one", "none", []string{"CHOWN"}, []string{"ALL"}, []string{"CAP_CHOWN"}, []string{"CAP_SETUID"}},
		{"own network keeps NET_RAW", "none", nil, nil, []string{"CAP_NET_RAW"}, nil},
		{"host network drops NET_RAW", "host", nil, nil, []string{"CAP_CHOWN"}, []string{"CAP_NET_RAW"}},
		{"default network is the host's", "", nil, nil, nil, []string{"CAP_NET_RAW"}},
		{"host network, NET_RAW asked for", "host", []string{"NET_RAW"}, nil, []string{"CAP_NET_RAW"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := capSet(tc.network, false, tc.add, tc.drop)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.has {
				if !slices.Contains(got, c) {
					t.Errorf("%s missing from %v", c, got)
				}
			}
			for _, c := range tc.not {
				if slices.Contains(got, c) {
					t.Errorf("%s present in %v", c, got)
				}
			}
		})
	}
}

func FuzzParseVolume(f *testing.F) {
	for _, s := range []string{"/a:/b", "/a:/b:ro", "a:b", "/a:/b:rw,ro", ":::", "/a:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		m, err := ParseVolume(v)
		if err != nil {
			return
		}
		if !filepath.IsAbs(m.Source) || !strings.HasPrefix(m.Destination, "/") || m.Destination == "/" {
			t.Errorf("ParseVolume(%q) accepted %+v", v, m)
		}
	})
}

func TestBuildDefersUserWithoutRootfs(t *testing.T) {
	s, err := Build(ocispec.ImageConfig{Cmd: []string{"x"}, User: "app"}, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Annotations[AnnotationUser] != "app" {
		t.Errorf("user annotation %q, want app", s.Annotations[AnnotationUser])
	}
	for _, kv := range s.Process.Env {
		if strings.HasPrefix(kv, "HOME=") {
			t.Errorf("HOME set before the user is known: %s", kv)
		}
	}
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("app:x:5:6::/h:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("g:x:9:app\n"), 0o644)
	u, home, err := ResolveUserIn(root, "app")
	if err != nil || u.UID != 5 || u.GID != 6 || !slices.Equal(u.AdditionalGids, []uint32{9}) || home != "/h" {
		t.Errorf("ResolveUserIn = %+v %q %v", u, home, err)
	}
}

// A passwd or group that is a FIFO (or any non-regular file) is refused at
// once instead of blocking the open until a writer comes.
func TestBuildRefusesFIFOPasswd(t *testing.T) {
	for _, name := range []string{"passwd", "group"} {
		t.Run(name, func(t *testing.T) {
			root := fakeRoot(t)
			p := filepath.Join(root, "etc", name)
			os.Remove(p)
			if err := unix.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Build(ocispec.ImageConfig{Cmd: []string{"x"}}, root, Options{User: "app"})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "/etc/"+name+" in the image is a FIFO, not a regular file") {
					t.Errorf("err = %v, want /etc/%s refused", err, name)
				}
			case <-time.After(5 * time.Second):
				// Unblock the open so the goroutine ends.
				if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
					f.Close()
				}
				t.Fatalf("Build blocked on a FIFO /etc/%s", name)
			}
		})
	}
}

func TestBuildNetwork(t *testing.T) {
	root := fakeRoot(t)
	img := ocispec.ImageConfig{Cmd: []string{"sh"}}
	tests := []struct {
		name    string
		opts    Options
		ownNS   bool
		dns     string
		addHost string
	}{
		{"default is the host's", Options{}, false, "", ""},
		{"host", Options{Network: "host", DNS: []string{"10.0.0.1"}}, false, "10.0.0.1", ""},
		{"none", Options{Network: "none"}, true, "", ""},
		{"bridge", Options{Network: "bridge", DNS: []string{"10.0.0.1", "fd00::1"}, AddHosts: []string{"db:10.1.2.3", "v6=[fd00::2]"}},
			true, "10.0.0.1,fd00::1", "db:10.1.2.3,v6=[fd00::2]"},
		{"named network", Options{Network: "mynet"}, true, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Build(img, root, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			own := slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
				return n.Type == specs.NetworkNamespace && n.Path == ""
			})
			if own != tc.ownNS {
				t.Errorf("own network namespace %v, want %v", own, tc.ownNS)
			}
			if s.Annotations[AnnotationDNS] != tc.dns || s.Annotations[AnnotationAddHost] != tc.addHost {
				t.Errorf("annotations %v", s.Annotations)
			}
		})
	}
}

// --init travels to the runner as AnnotationInit, set only when asked.
func TestBuildInit(t *testing.T) {
	for _, init := range []bool{false, true} {
		s, err := Build(ocispec.ImageConfig{Cmd: []string{"x"}}, "", Options{Init: init})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := s.Annotations[AnnotationInit]; ok != init || (init && v != "true") {
			t.Errorf("Init %v: annotation %q (present %v)", init, v, ok)
		}
	}
}
