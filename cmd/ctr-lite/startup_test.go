package main

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Every ctr-lite process, the container init that `run` re-executes
// included, pays the package initialisers before main. These budgets are
// counts from the runtime's init trace (bytes and allocations, not a
// timer), so they hold on a busy machine. Before the start-up work the
// binary's inits allocated 694 KB in 12,167 allocations; they now take
// about 274 KB in 1,980, most of it in dependencies (go-digest's and
// ggcr's regexps, yaml v3, klauspost/compress); go-seccomp-bpf's syscall
// maps (160 KB) went with our own tables (pkg/runner/seccomp/zsysnum.go,
// laid out by the linker). The budget leaves about 15% for growth.
const (
	initBytesBudget  = 316 << 10
	initAllocsBudget = 2280
	// A package of this module may allocate this much at init (a few
	// sentinel errors and small tables; no compiled regexp, no big table).
	ownInitBytesBudget  = 4 << 10
	ownInitAllocsBudget = 40
)

type initCost struct {
	pkg           string
	bytes, allocs int
}

// initTrace runs the binary with GODEBUG=inittrace=1 and parses its lines
// ("init PKG @T ms, C ms clock, B bytes, A allocs").
func initTrace(t *testing.T, args ...string) []initCost {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", binPath, args, err, stderr.String())
	}
	var out []initCost
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 11 || f[0] != "init" || f[8] != "bytes," || f[10] != "allocs" {
			continue
		}
		b, err1 := strconv.Atoi(f[7])
		a, err2 := strconv.Atoi(f[9])
		if err1 != nil || err2 != nil {
			t.Fatalf("init trace line %q: %v %v", sc.Text(), err1, err2)
		}
		out = append(out, initCost{f[1], b, a})
	}
	if len(out) < 20 { // runtime, os, ... always trace
		t.Fatalf("no init trace parsed from:\n%s", stderr.String())
	}
	return out
}

func TestStartupInitBudget(t *testing.T) {
	var size, allocs int
	for _, c := range initTrace(t, "--version") {
		size += c.bytes
		allocs += c.allocs
		if strings.HasPrefix(c.pkg, "github.com/ctrlite/ctr-lite/") &&
			(c.bytes > ownInitBytesBudget || c.allocs > ownInitAllocsBudget) {
			t.Errorf("init of %s allocates %d bytes in %d allocations, budget %d bytes, %d allocations (make it lazy: sync.OnceValue)",
				c.pkg, c.bytes, c.allocs, ownInitBytesBudget, ownInitAllocsBudget)
		}
	}
	t.Logf("package inits: %d bytes, %d allocations", size, allocs)
	if size > initBytesBudget || allocs > initAllocsBudget {
		t.Errorf("package inits allocate %d bytes in %d allocations, budget %d bytes, %d allocations (a new dependency or package-level work?)",
			size, allocs, initBytesBudget, initAllocsBudget)
	}
}

// TestNoPackageLevelRegexp: a package-level regexp.MustCompile runs in
// every process at start-up; compile it on first use or write the check out.
func TestNoPackageLevelRegexp(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			ast.Inspect(g, func(n ast.Node) bool {
				if _, ok := n.(*ast.FuncLit); ok {
					return false // runs later, if at all
				}
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "regexp" && strings.HasPrefix(sel.Sel.Name, "MustCompile") {
						t.Errorf("%s: package-level regexp.%s runs at every start-up", fset.Position(call.Pos()), sel.Sel.Name)
					}
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
