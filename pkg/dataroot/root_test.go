package dataroot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOpenMakesAbsoluteAndKeepsMode(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)
	tests := []struct {
		name     string
		dir      string
		existing os.FileMode // 0: absent before Open
		wantMode os.FileMode
	}{
		{"missing root is made 0700", "new/root", 0, 0o700},
		{"existing 0755 root keeps its mode", "shared", 0o755, 0o755},
		{"existing 0711 root keeps its mode", "traversable", 0o711, 0o711},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.existing != 0 {
				if err := os.Mkdir(tt.dir, tt.existing); err != nil {
					t.Fatal(err)
				}
				os.Chmod(tt.dir, tt.existing)
			}
			r, err := Open(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(base, tt.dir); r.Path() != want {
				t.Errorf("Path() = %q, want %q", r.Path(), want)
			}
			if got := r.Dir("containers"); got != filepath.Join(base, tt.dir, "containers") {
				t.Errorf("Dir(containers) = %q", got)
			}
			fi, err := os.Stat(r.Path())
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.wantMode {
				t.Errorf("mode = %o, want %o", fi.Mode().Perm(), tt.wantMode)
			}
		})
	}
}

func TestOpenRefusesAFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, nil, 0o600)
	if _, err := Open(p); err == nil {
		t.Fatal("Open on a regular file succeeded")
	}
}

func TestLockNamesStayInTheirNamespace(t *testing.T) {
	r, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", ".", "..", "a/b", "../gc", "x\x00"} {
		t.Run(name, func(t *testing.T) {
			if _, err := r.Locks("snapshots").Lock(context.Background(), name); !errors.Is(err, ErrBadName) {
				t.Errorf("Lock(%q) err = %v, want ErrBadName", name, err)
			}
		})
	}
}

func TestLocksExcludeAndHeld(t *testing.T) {
	r, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := r.Locks("snapshots")
	if l.Held("abc") {
		t.Fatal("Held on a lock never taken")
	}
	unlock, err := l.Lock(context.Background(), "abc")
	if err != nil {
		t.Fatal(err)
	}
	if !l.Held("abc") {
		t.Fatal("Held = false while locked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(ctx, "abc"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lock err = %v, want it to wait", err)
	}
	// another namespace's lock of the same name is independent
	u2, err := r.Locks("containers").Lock(context.Background(), "abc")
	if err != nil {
		t.Fatal(err)
	}
	u2()
	unlock()
	if l.Held("abc") {
		t.Fatal("Held after unlock")
	}
	if _, err := os.Stat(filepath.Join(r.Path(), "locks", "snapshots", "abc")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a free lock's file is left after Held: %v", err)
	}
}

func TestCollectingWaitsForLeases(t *testing.T) {
	r, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	release, err := r.Lease(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r2, err := r.Lease(context.Background()) // leases coexist
	if err != nil {
		t.Fatal(err)
	}
	r2()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := r.Collecting(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Collecting under a lease: err = %v, want it to wait", err)
	}
	release()
	done, err := r.Collecting(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := r.Lease(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lease during gc: err = %v, want it to wait", err)
	}
	done()
}

func TestRefs(t *testing.T) {
	a := Refs{}
	a.Add("snapshots", "c1")
	b := Refs{}
	b.Add("snapshots", "c2")
	b.Add("content", "d1")
	a.Merge(b)
	for _, k := range [][2]string{{"snapshots", "c1"}, {"snapshots", "c2"}, {"content", "d1"}} {
		if !a.Has(k[0], k[1]) {
			t.Errorf("Has(%s, %s) = false", k[0], k[1])
		}
	}
	if a.Has("containers", "c1") || a.Has("snapshots", "c3") {
		t.Error("Has reports a key never added")
	}
}
