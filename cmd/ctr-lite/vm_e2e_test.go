package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// TestCgroupV2InVM boots Debian's kernel under qemu with cgroup v1 off
// (cgroup_no_v1=all) and AppArmor on, imports an exported image there and
// runs the checks of hack/vm/checks.sh: memory.max and the OOM exit 137,
// pids.max and a capped fork loop, cpu.max, the eBPF device filter, no
// cgroup left behind; the default AppArmor profile applied, refusing a
// mount that --security-opt apparmor=unconfined allows; and, as a user with
// a subordinate range and a delegated cgroup subtree, a rootless run whose
// --memory and --pids-limit apply under that subtree.
func TestCgroupV2InVM(t *testing.T) {
	testutil.RequireRoot(t)
	kernels, _ := filepath.Glob("/boot/vmlinuz-*-amd64")
	_, qerr := exec.LookPath("qemu-system-x86_64")
	_, cerr := exec.LookPath("cpio")
	_, aerr := exec.LookPath("apparmor_parser")
	if len(kernels) == 0 || qerr != nil || cerr != nil || aerr != nil {
		msg := "needs qemu-system-x86_64, cpio, apparmor_parser and /boot/vmlinuz-*-amd64 (make deps installs them)"
		testutil.Skipf(t, "%s", msg)
	}
	e, bb := busyboxEnv(t)
	archive := filepath.Join(t.TempDir(), "image.tar")
	e.must("export", bb, archive)
	script, err := filepath.Abs("../../hack/vm/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script, binPath, archive, bb, "apparmor=1", "security=apparmor").CombinedOutput()
	checks := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "VMTEST ") {
			t.Log(line)
		}
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "CHECK" {
			checks[f[1]] = strings.Join(f[2:], " ")
			t.Log(line)
		}
	}
	if err != nil {
		t.Fatalf("the VM did not finish its checks: %v\n%s", err, out)
	}
	for _, name := range []string{"cgroup2-only", "memory-max", "memory-oom-exit", "pids-max", "pids-fork-capped", "cpu-max", "device-denied", "no-cgroup-left",
		"apparmor-default", "apparmor-denies-mount", "apparmor-unconfined-mounts",
		"rootless-id", "rootless-memory-max", "rootless-pids-max", "rootless-cgroups-under-delegation"} {
		if got, ok := checks[name]; !ok || got != "ok" {
			t.Errorf("check %s: %q", name, got)
		}
	}
}
