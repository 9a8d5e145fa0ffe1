package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

func devRule(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	d := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
	if major >= 0 {
		d.Major = &major
	}
	if minor >= 0 {
		d.Minor = &minor
	}
	return d
}

// testRules deny everything but reading and writing /dev/null (c 1:3) and
// reading /dev/zero (c 1:5).
var testRules = []specs.LinuxDeviceCgroup{
	devRule(false, "", -1, -1, "rwm"),
	devRule(true, "c", 1, 3, "rw"),
	devRule(true, "c", 1, 5, "r"),
}

func TestRuleString(t *testing.T) {
	want := []string{"a *:* rwm", "c 1:3 rw", "c 1:5 r"}
	for i, d := range testRules {
		r, err := parseRule(d)
		if err != nil || r.String() != want[i] {
			t.Errorf("rule %d = %q (%v), want %q", i, r.String(), err, want[i])
		}
	}
	if _, err := parseRule(specs.LinuxDeviceCgroup{Type: "x"}); err == nil {
		t.Error("type x accepted")
	}
	if _, err := parseRule(specs.LinuxDeviceCgroup{Type: "c", Access: "rx"}); err == nil {
		t.Error("access x accepted")
	}
}

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{2: 1, 1024: 39, 262144: 10000, 1: 1, 1 << 20: 10000} {
		if got := sharesToWeight(shares); got != want {
			t.Errorf("sharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

// devicesProbe runs a shell in the cgroup (a v2 directory) that tries each
// device access and prints "ok" or "no" for it.
func devicesProbe(t *testing.T, cgdir string) string {
	t.Helper()
	sh := testutil.RequireTool(t, "sh", "dash")
	dfd, err := os.Open(cgdir)
	if err != nil {
		t.Fatal(err)
	}
	defer dfd.Close()
	script := `for t in "cat /dev/null" "echo x >/dev/null" "head -c1 /dev/zero" "echo x >/dev/zero" "cat /dev/full"; do
	if sh -c "$t" >/dev/null 2>&1 </dev/null; then echo -n ok; else echo -n no; fi; echo -n " "; done`
	cmd := exec.Command(sh, "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dfd.Fd())}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestDeviceFilter attaches the eBPF program to a v2 cgroup (the unified
// mount on hybrid hosts) and checks what a process in it may open.
func TestDeviceFilter(t *testing.T) {
	testutil.RequireRoot(t)
	root := unifiedRoot
	if !Unified() {
		root = filepath.Join(unifiedRoot, "unified")
		var st unix.Statfs_t
		if unix.Statfs(root, &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
			t.Skip("no cgroup2 hierarchy mounted")
		}
	}
	dir := filepath.Join(root, "ctr-lite-test-"+filepath.Base(t.TempDir()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(dir) })
	if err := attachDeviceFilter(dir, testRules); err != nil {
		t.Fatal(err)
	}
	// /dev/null rw; /dev/zero r only; /dev/full not at all.
	if got, want := devicesProbe(t, dir), "ok ok ok no no"; got != want {
		t.Errorf("device accesses = %q, want %q", got, want)
	}
}

// TestDeviceRulesV1 writes the rules to a v1 devices cgroup and reads back
// the kernel's list.
func TestDeviceRulesV1(t *testing.T) {
	testutil.RequireRoot(t)
	if Unified() {
		t.Skip("cgroup v2 host")
	}
	path := "/ctr-lite-test/" + filepath.Base(t.TempDir())
	cg, err := New(path, &specs.LinuxResources{Devices: testRules})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cg.Delete()
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/ctr-lite-test")
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	})
	b, err := os.ReadFile(filepath.Join(unifiedRoot, "devices", path, "devices.list"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "c 1:3 rw\nc 1:5 r\n"; got != want {
		t.Errorf("devices.list = %q, want %q", got, want)
	}
}

func TestUnsupportedResources(t *testing.T) {
	w := uint16(10)
	if _, err := New("/ctr-lite-test/unsupported", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: &w}}); err == nil {
		t.Error("blockIO weight accepted")
	}
}

// TestV2OnHybridMount runs the v2 code path against a hybrid host's
// cgroup2 mount (no controllers there): the cgroup is made, its device
// filter applies to a process in it, it is removed; a limit needing a
// controller the hierarchy lacks is refused and leaves nothing behind.
func TestV2OnHybridMount(t *testing.T) {
	testutil.RequireRoot(t)
	if Unified() {
		t.Skip("v2 host: the other tests cover it")
	}
	mnt := filepath.Join(unifiedRoot, "unified")
	var st unix.Statfs_t
	if unix.Statfs(mnt, &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Skip("no cgroup2 hierarchy mounted")
	}
	old := unifiedRoot
	unifiedRoot = mnt
	t.Cleanup(func() {
		_ = os.Remove(filepath.Join(mnt, "ctr-lite-test"))
		unifiedRoot = old
	})
	path := "/ctr-lite-test/" + filepath.Base(t.TempDir())
	cg, err := New(path, &specs.LinuxResources{Devices: testRules})
	if err != nil {
		t.Fatal(err)
	}
	if cg.UnifiedDir() != filepath.Join(mnt, path) || !Exists(path) {
		t.Fatalf("cgroup dir %q, exists %v", cg.UnifiedDir(), Exists(path))
	}
	if got, want := devicesProbe(t, cg.UnifiedDir()), "ok ok ok no no"; got != want {
		t.Errorf("device accesses = %q, want %q", got, want)
	}
	if err := cg.Delete(); err != nil || Exists(path) {
		t.Errorf("Delete: %v, exists %v", err, Exists(path))
	}
	pids := int64(10)
	if _, err := New(path, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &pids}}); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Errorf("pids limit without the controller: %v", err)
	}
	if Exists(path) {
		t.Error("failed New left its cgroup")
	}
}
