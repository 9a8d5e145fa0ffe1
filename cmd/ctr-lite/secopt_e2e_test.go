package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeccompProfileFromFile: --security-opt seccomp=FILE takes docker's
// format: moby's own default profile runs a container, and a profile that
// denies mkdir makes mkdir fail while the rest works.
func TestSeccompProfileFromFile(t *testing.T) {
	e, bb := busyboxEnv(t)
	moby, err := filepath.Abs("../../pkg/runner/seccomp/testdata/moby-default.json")
	if err != nil {
		t.Fatal(err)
	}
	if out := e.must("run", "--rm", "--security-opt", "seccomp="+moby, bb, "sh", "-c", "mkdir /tmp/d && echo ok"); out != "ok\n" {
		t.Errorf("moby's default profile: %q", out)
	}
	data, err := os.ReadFile(moby)
	if err != nil {
		t.Fatal(err)
	}
	// The same profile with mkdir and mkdirat sent to EPERM.
	deny := strings.Replace(string(data), `"syscalls": [`, `"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},`, 1)
	if deny == string(data) {
		t.Fatal("could not add the deny rule")
	}
	p := filepath.Join(t.TempDir(), "deny-mkdir.json")
	if err := os.WriteFile(p, []byte(deny), 0o644); err != nil {
		t.Fatal(err)
	}
	out := e.must("run", "--rm", "--security-opt", "seccomp="+p, bb, "sh", "-c", "mkdir /tmp/d 2>&1 || echo refused; echo still running")
	if !strings.Contains(out, "Operation not permitted") || !strings.HasSuffix(out, "refused\nstill running\n") {
		t.Errorf("profile denying mkdir: %q", out)
	}
}
