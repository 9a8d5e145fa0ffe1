package runner

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// TestJoinNetworkNamespace: a network namespace given by path in the spec
// is joined (the container's /proc/self/ns/net is that namespace), its lo
// is up, and other namespace types by path are refused.
func TestJoinNetworkNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "unshare", "util-linux")
	root, img := busybox(t)
	holder := exec.Command("unshare", "--net", "sleep", "60")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	nsPath := fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid)
	var want string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		own, _ := os.Readlink("/proc/self/ns/net")
		if l, err := os.Readlink(nsPath); err == nil && l != own {
			want = l // unshare has made its namespace
			break
		}
	}
	if want == "" {
		t.Fatal("unshare --net did not make a namespace")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(nsPath, &st); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ns     specs.LinuxNamespace
		script string
		want   string
		fails  bool
	}{
		{"joins the network namespace", specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: nsPath},
			"readlink /proc/self/ns/net; cat /sys/class/net/lo/operstate", want + "\nunknown\n", false},
		{"refuses to join other types", specs.LinuxNamespace{Type: specs.IPCNamespace, Path: nsPath}, "true", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := build(t, root, img, sh(tc.script))
			var kept []specs.LinuxNamespace
			for _, n := range s.Linux.Namespaces {
				if n.Type != tc.ns.Type {
					kept = append(kept, n)
				}
			}
			s.Linux.Namespaces = append(kept, tc.ns)
			r := runSpec(t, testID(t), s, nil, "")
			if tc.fails {
				if r.code != CodeRunnerFailed || !strings.Contains(r.stderr+fmt.Sprint(r.err), "join") {
					t.Errorf("want a failure to join: %+v", r)
				}
				return
			}
			if r.code != 0 || r.stdout != tc.want {
				t.Errorf("got %+v, want stdout %q", r, tc.want)
			}
		})
	}
}
