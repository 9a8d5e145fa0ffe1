package seccomp

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// filterChild is set in the environment of the test binary re-executed by
// TestFilterInKernel: the child installs a filter and reports, as JSON,
// the errno of each call it makes (0 for success).
const filterChild = "CTRLITE_SECCOMP_CHILD"

type call struct {
	name string
	nr   uintptr
	args [3]uintptr
}

// probes are the calls the child makes. None changes anything when it
// succeeds (unshare of a user namespace only affects the child).
var probes = []call{
	{"socket AF_UNIX", unix.SYS_SOCKET, [3]uintptr{unix.AF_UNIX, unix.SOCK_STREAM | unix.SOCK_CLOEXEC}},
	{"socket AF_VSOCK", unix.SYS_SOCKET, [3]uintptr{unix.AF_VSOCK, unix.SOCK_STREAM | unix.SOCK_CLOEXEC}},
	{"socket AF_VSOCK high bit", unix.SYS_SOCKET, [3]uintptr{unix.AF_VSOCK | 1<<32, unix.SOCK_STREAM | unix.SOCK_CLOEXEC}},
	{"personality query", unix.SYS_PERSONALITY, [3]uintptr{0xffffffff}},
	{"personality 41", unix.SYS_PERSONALITY, [3]uintptr{41}},
	{"mount", unix.SYS_MOUNT, [3]uintptr{0, 0, 0}},
	{"unshare user", unix.SYS_UNSHARE, [3]uintptr{unix.CLONE_NEWUSER}},
	{"clone3", unix.SYS_CLONE3, [3]uintptr{0, 0}},
	{"getpriority process", unix.SYS_GETPRIORITY, [3]uintptr{unix.PRIO_PROCESS, 0}},
	{"getpriority pgrp", unix.SYS_GETPRIORITY, [3]uintptr{unix.PRIO_PGRP, 0}},
	{"getpgid", unix.SYS_GETPGID, [3]uintptr{0}},
}

// TestFilterInKernel loads compiled filters into a child process (the
// test binary again) and checks what the kernel makes of each probe.
func TestFilterInKernel(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("probes use x86_64 syscall numbers")
	}
	errno77 := uint(77) // EBADFD
	custom := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"getpgid"}, Action: specs.ActErrno},
		{Names: []string{"getpriority"}, Action: specs.ActErrno, ErrnoRet: &errno77,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.PRIO_PGRP, Op: specs.OpEqualTo}}},
	}}
	ok, perm := unix.Errno(0), unix.EPERM
	tests := []struct {
		name    string
		profile *specs.LinuxSeccomp
		want    map[string]unix.Errno
	}{
		{"default", Default(nil), map[string]unix.Errno{
			"socket AF_UNIX":           ok,
			"socket AF_VSOCK":          perm,
			"socket AF_VSOCK high bit": perm,
			"personality query":        ok,
			"personality 41":           perm, // the syscall number again after a failed argument check
			"mount":                    perm,
			"unshare user":             perm,
			"clone3":                   unix.ENOSYS,
			"getpriority process":      ok,
			"getpgid":                  ok,
		}},
		{"custom", custom, map[string]unix.Errno{
			"getpriority process": ok,
			"getpriority pgrp":    unix.EBADFD,
			"getpgid":             perm,
			"socket AF_UNIX":      ok,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prof, err := json.Marshal(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestFilterChild$")
			cmd.Env = append(os.Environ(), filterChild+"="+string(prof))
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			var got map[string]unix.Errno
			if err := json.NewDecoder(bytes.NewReader(out)).Decode(&got); err != nil {
				t.Fatalf("child output %q: %v", out, err)
			}
			for name, want := range tc.want {
				if g, ok := got[name]; !ok || g != want {
					t.Errorf("%s: errno %d (%v), want %d (%v)", name, g, g, want, want)
				}
			}
		})
	}
}

// TestFilterChild is the child of TestFilterInKernel; alone it does
// nothing. It filters every thread (TSYNC) of a process that exits right
// after.
func TestFilterChild(t *testing.T) {
	prof := os.Getenv(filterChild)
	if prof == "" {
		return
	}
	var p specs.LinuxSeccomp
	if err := json.Unmarshal([]byte(prof), &p); err != nil {
		t.Fatal(err)
	}
	filter, err := Compile(&p)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		t.Fatalf("seccomp: %v", e)
	}
	got := map[string]unix.Errno{}
	for _, c := range probes {
		r, _, e := unix.RawSyscall(c.nr, c.args[0], c.args[1], c.args[2])
		got[c.name] = e
		if e == 0 && c.nr == unix.SYS_SOCKET {
			unix.Close(int(r))
		}
	}
	out, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.Write(append(out, '\n'))
}
