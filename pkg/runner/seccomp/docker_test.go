package seccomp

import (
	"os"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// dockerDefaultCaps is docker's default capability set less NET_RAW, as
// ctr-lite gives a container on the host network.
var dockerDefaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
	"CAP_KILL", "CAP_AUDIT_WRITE"}

// allowedNames is every syscall some ALLOW rule of p names.
func allowedNames(p *specs.LinuxSeccomp) []string {
	var out []string
	for _, s := range p.Syscalls {
		if s.Action == specs.ActAllow {
			out = append(out, s.Names...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// amd64Names keeps the names the x86_64 syscall table has.
func amd64Names(names []string) []string {
	amd64, _ := archOf("amd64")
	var out []string
	for _, n := range names {
		if _, ok := amd64.number(n); ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// stricter are the syscalls moby allows every container (kernel >= 4.8)
// that ctr-lite allows only with CAP_SYS_PTRACE, on purpose.
var stricter = []string{"ptrace", "process_vm_readv", "process_vm_writev"}

// TestDefaultMatchesMoby compares our hand-kept allow list with a pinned
// copy of moby's default.json (testdata/moby-default.version says which),
// for the default capabilities and with CAP_SYS_ADMIN and CAP_SYS_PTRACE
// added: a syscall moby allows that we do not (or the reverse) is drift.
func TestDefaultMatchesMoby(t *testing.T) {
	data, err := os.ReadFile("testdata/moby-default.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"CAP_SYS_ADMIN"}, {"CAP_SYS_PTRACE", "CAP_SYS_NICE", "CAP_SYS_TIME"}} {
		caps := append(slices.Clone(dockerDefaultCaps), extra...)
		t.Run(fmtCaps(extra), func(t *testing.T) {
			moby, err := FromDocker(data, caps, "amd64", "6.1.0")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Compile(moby); err != nil {
				t.Fatalf("moby's profile does not compile: %v", err)
			}
			want, got := amd64Names(allowedNames(moby)), amd64Names(allowedNames(Default(caps)))
			for _, n := range want {
				if !slices.Contains(got, n) && !slices.Contains(stricter, n) {
					t.Errorf("moby allows %s, ctr-lite does not", n)
				}
			}
			for _, n := range got {
				if !slices.Contains(want, n) {
					t.Errorf("ctr-lite allows %s, moby does not", n)
				}
			}
		})
	}
}

func fmtCaps(c []string) string {
	if len(c) == 0 {
		return "default caps"
	}
	return "plus " + slices.Concat(c)[0] + "..."
}

func TestFromDockerConditions(t *testing.T) {
	profile := []byte(`{"defaultAction":"SCMP_ACT_ERRNO","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]},{"architecture":"SCMP_ARCH_AARCH64"}],
	"syscalls":[
	 {"names":["read"],"action":"SCMP_ACT_ALLOW"},
	 {"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}},
	 {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38,"excludes":{"caps":["CAP_SYS_ADMIN"]}},
	 {"names":["arch_prctl"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["amd64"]}},
	 {"names":["new_call"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"6.8"}},
	 {"name":"write","action":"SCMP_ACT_ALLOW"}]}`)
	tests := []struct {
		caps   []string
		arch   string
		kernel string
		want   []string
	}{
		{nil, "amd64", "6.1.0-57-amd64", []string{"arch_prctl", "read", "write"}},
		{[]string{"CAP_SYS_ADMIN"}, "amd64", "6.18.44", []string{"arch_prctl", "mount", "new_call", "read", "write"}},
		{nil, "arm64", "6.8", []string{"new_call", "read", "write"}},
	}
	for _, tt := range tests {
		p, err := FromDocker(profile, tt.caps, tt.arch, tt.kernel)
		if err != nil {
			t.Fatal(err)
		}
		if got := allowedNames(p); !slices.Equal(got, tt.want) {
			t.Errorf("%v %s %s: allowed %v, want %v", tt.caps, tt.arch, tt.kernel, got, tt.want)
		}
		if tt.arch == "amd64" && !slices.Equal(p.Architectures, []specs.Arch{specs.ArchX86_64, specs.ArchX86}) {
			t.Errorf("architectures %v", p.Architectures)
		}
	}
}
