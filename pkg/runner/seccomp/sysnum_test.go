package seccomp

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// TestTablesMatchKernelHeaders checks the generated tables against this
// machine's kernel headers (linux-libc-dev): every syscall the headers
// name has that number in the table. The table may know newer syscalls
// than the headers.
func TestTablesMatchKernelHeaders(t *testing.T) {
	tests := []struct {
		goarch, header string
	}{
		{"amd64", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"},
		{"386", "/usr/include/x86_64-linux-gnu/asm/unistd_32.h"},
		{"arm64", "/usr/include/aarch64-linux-gnu/asm/unistd_64.h"},
	}
	checked := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.goarch, func(t *testing.T) {
			f, err := os.Open(tc.header)
			if os.IsNotExist(err) {
				t.Skipf("no %s on this machine", tc.header)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			a, err := archOf(tc.goarch)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				// #define __NR_read 0
				fl := strings.Fields(sc.Text())
				if len(fl) != 3 || fl[0] != "#define" || !strings.HasPrefix(fl[1], "__NR_") {
					continue
				}
				want, err := strconv.ParseUint(fl[2], 0, 32)
				if err != nil {
					continue // an expression, not a number
				}
				name := strings.TrimPrefix(fl[1], "__NR_")
				got, ok := a.number(name)
				if !ok || uint64(got) != want {
					t.Errorf("%s: %s is %d (known %v) in the table, %d in %s", tc.goarch, name, got, ok, want, tc.header)
				}
				n++
			}
			if n < 300 {
				t.Fatalf("only %d syscalls in %s", n, tc.header)
			}
			checked[tc.goarch] = true
			t.Logf("%d syscalls of %s match, table has %d", n, tc.header, len(a.table))
		})
	}
	if _, err := nativeArch(); err == nil && !checked[runtime.GOARCH] {
		testutil.Skipf(t, "no kernel headers for %s (linux-libc-dev)", runtime.GOARCH)
	}
}

func TestTablesSortedAndNamed(t *testing.T) {
	for _, goarch := range []string{"amd64", "386", "arm64", "arm"} {
		a, err := archOf(goarch)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSortedFunc(a.table, func(x, y sysnum) int { return strings.Compare(x.name, y.name) }) {
			t.Errorf("%s: table not sorted", goarch)
		}
		for i := 1; i < len(a.table); i++ {
			if a.table[i].name == a.table[i-1].name {
				t.Errorf("%s: %s twice", goarch, a.table[i].name)
			}
		}
	}
	tests := []struct {
		goarch, name string
		nr           uint32
		ok           bool
	}{
		{"amd64", "read", 0, true},
		{"amd64", "_sysctl", 156, true},
		{"amd64", "newfstatat", 262, true},
		{"amd64", "_llseek", 0, false},
		{"386", "_llseek", 140, true},
		{"386", "_newselect", 142, true},
		{"arm64", "newfstatat", 79, true},
		{"arm64", "open", 0, false},
		{"arm", "set_tls", 0x0f0005, true},
		{"arm", "restart_syscall", 0, true},
		{"arm", "syscall_mask", 0, false},
	}
	for _, tc := range tests {
		a, err := archOf(tc.goarch)
		if err != nil {
			t.Fatal(err)
		}
		if nr, ok := a.number(tc.name); ok != tc.ok || nr != tc.nr {
			t.Errorf("%s %s: %d %v, want %d %v", tc.goarch, tc.name, nr, ok, tc.nr, tc.ok)
		}
	}
}
