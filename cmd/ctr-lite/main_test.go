package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/runner"
)

// binPath is the ctr-lite binary that multi-process tests start: the one
// `make test` built (CTRLITE_BIN), or one built here.
var binPath string

func TestMain(m *testing.M) {
	runner.Init() // `run` re-executes this test binary as the container's init
	code, err := testMain(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func testMain(m *testing.M) (int, error) {
	binPath = os.Getenv("CTRLITE_BIN")
	if binPath == "" {
		dir, err := os.MkdirTemp("", "ctr-lite-bin")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		binPath = filepath.Join(dir, "ctr-lite")
		build := exec.Command("go", "build", "-o", binPath, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("build ctr-lite: %v\n%s", err, out)
		}
	}
	return m.Run(), nil
}

// result is what one in-process command printed and returned.
type result struct {
	out, err string
	code     int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
}

// env is one ctr-lite root and config dir for a test.
type env struct {
	t            *testing.T
	root, config string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{t: t, root: filepath.Join(t.TempDir(), "root"), config: t.TempDir()}
}

// ctl runs ctr-lite in-process with the env's root and config.
func (e *env) ctl(args ...string) result {
	e.t.Helper()
	return e.ctlIn("", args...)
}

func (e *env) ctlIn(stdin string, args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"--root", e.root, "--config", e.config}, args...)
	code := execute(context.Background(), full, strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

// must runs ctl and fails the test unless it exits 0.
func (e *env) must(args ...string) string {
	e.t.Helper()
	r := e.ctl(args...)
	if r.code != 0 {
		e.t.Fatalf("ctr-lite %s: %s", strings.Join(args, " "), r)
	}
	return r.out
}

// bin returns a command running the built binary with the env's root.
func (e *env) bin(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"--root", e.root, "--config", e.config}, args...)
	cmd := exec.CommandContext(ctx, binPath, full...)
	cmd.Env = append(os.Environ(), "CI=true")
	return cmd
}

func TestUsageErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"pull"}, 2, "requires at least 1 arg"},
		{[]string{"pull", "--bogus", "x"}, 2, "unknown flag"},
		{[]string{"nosuch"}, 2, "unknown command"},
		{[]string{"pull", "UPPER/Case"}, 2, `invalid reference "UPPER/Case"`},
		{[]string{"pull", "Busybox:Latest"}, 2, `invalid reference "Busybox:Latest"`},
		{[]string{"pull", "busybox@sha256:abc"}, 2, `invalid reference "busybox@sha256:abc"`},
		{[]string{"unpack", "Busybox", "/nonexistent/x"}, 2, `invalid reference "Busybox"`},
		{[]string{"inspect", "busybox"}, 2, `unknown command "busybox" for "ctr-lite inspect"`},
		{[]string{"inspect", "manifest"}, 2, "accepts 1 arg"},
		{[]string{"check", "busybox"}, 2, "no rules"},
		{[]string{"pull", "--platform", "linux", "alpine"}, 2, "os/arch"},
		{[]string{"rmi", "never-stored"}, 1, "never-stored"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := e.ctl(tt.args...)
			if r.code != tt.code || !strings.Contains(r.err, tt.msg) {
				t.Fatalf("want exit %d and %q in stderr; got %s", tt.code, tt.msg, r)
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	e := newEnv(t)
	if out := e.must("--version"); !strings.HasPrefix(out, "ctr-lite ") {
		t.Errorf("--version printed %q", out)
	}
	out := e.must("--help")
	for _, c := range []string{"pull", "images", "gc", "login"} {
		if !strings.Contains(out, "  "+c) {
			t.Errorf("--help does not list %s:\n%s", c, out)
		}
	}
	if out := e.must("completion", "bash"); !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash printed no script")
	}
}

// A typo in a rules file is a usage error that names the line and field.
func TestRulesFileTypo(t *testing.T) {
	e := newEnv(t)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("max_layers: 3\nmax_sise: 10MB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.ctl("check", "--rules", rules, "busybox")
	if r.code != 2 || !strings.Contains(r.err, "rules file line 2: unknown field max_sise") || strings.Contains(r.err, "JSON") {
		t.Errorf("rules file with a typo: %s", r)
	}
}
