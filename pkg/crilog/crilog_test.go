package crilog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestWriteRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctr.log")
	l, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, errs := l.Stream(Stdout), l.Stream(Stderr)
	long := strings.Repeat("x", MaxRecord+10)
	for _, w := range []struct {
		s string
		w interface{ Write([]byte) (int, error) }
	}{{"one\ntwo\npart", out}, {"ial\n", out}, {"oops\n", errs}, {long + "\n", out}, {"prompt# ", out}} {
		if _, err := w.w.Write([]byte(w.s)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	b, _ := os.ReadFile(path)
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (stdout|stderr) (F|P) `)
	var tags []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("record %.80q is not CRI", line)
		}
		tags = append(tags, m[2][3:]+m[3])
	}
	if got, want := strings.Join(tags, ","), "outF,outF,outP,outF,errF,outP,outF,outP"; got != want {
		t.Errorf("records %s, want %s", got, want)
	}
	tests := []struct {
		name          string
		opts          Options
		stdout, stder string
	}{
		{"all", Options{Tail: -1}, "one\ntwo\npartial\n" + long + "\nprompt# ", "oops\n"},
		{"tail 2", Options{Tail: 2}, long + "\nprompt# ", ""},
		{"tail 0", Options{Tail: 0}, "", ""},
		{"tail 100", Options{Tail: 100}, "one\ntwo\npartial\n" + long + "\nprompt# ", "oops\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o, e bytes.Buffer
			if err := Copy(context.Background(), path, tc.opts, &o, &e); err != nil {
				t.Fatal(err)
			}
			if o.String() != tc.stdout || e.String() != tc.stder {
				t.Errorf("stdout %.60q stderr %q", o.String(), e.String())
			}
		})
	}
	var later bytes.Buffer
	if err := Copy(context.Background(), path, Options{Tail: -1, Since: time.Now()}, &later, &later); err != nil || later.Len() != 0 {
		t.Errorf("Since now: %q %v, want nothing", later.String(), err)
	}
	if err := Copy(context.Background(), path, Options{Tail: -1, Since: time.Now().Add(-time.Minute)}, &later, io.Discard); err != nil || later.Len() == 0 {
		t.Errorf("Since a minute ago: %q %v, want everything", later.String(), err)
	}
	var o bytes.Buffer
	if err := Copy(context.Background(), path, Options{Tail: 1, Timestamps: true}, &o, &o); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d{4}-\S+Z prompt# $`).MatchString(o.String()) {
		t.Errorf("timestamps: %q", o.String())
	}
}

// Rotation keeps each file under the limit, and a follower reads across
// a rotation without losing or repeating a line.
func TestRotateAndFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctr.log")
	const limit = 2048
	l, err := Open(path, limit)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var got bytes.Buffer
	followed := make(chan error, 1)
	go func() {
		running := func() bool {
			select {
			case <-done:
				return false
			default:
				return true
			}
		}
		followed <- Copy(context.Background(), path, Options{Tail: -1, Running: running, Poll: time.Millisecond}, &got, &got)
	}()
	var want strings.Builder
	for i := 0; i < 300; i++ {
		line := fmt.Sprintf("%03d %s\n", i, strings.Repeat("a", i%40))
		want.WriteString(line)
		if _, err := l.Stream(Stdout).Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + ".1"} {
			if st, err := os.Stat(p); err == nil && st.Size() > limit {
				t.Fatalf("%s is %d bytes, over %d", p, st.Size(), limit)
			}
		}
		if i%50 == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	l.Close()
	close(done)
	if err := <-followed; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	// The follower may miss files rotated away twice between its polls,
	// but never repeats, reorders or mangles a line, and it ends with the
	// last line written: every line is one written (its number leads it),
	// in increasing order.
	written := map[string]bool{}
	for _, l := range strings.SplitAfter(want.String(), "\n") {
		written[l] = true
	}
	last := -1
	for _, l := range strings.SplitAfter(got.String(), "\n") {
		if l == "" {
			continue
		}
		var n int
		if !written[l] || len(l) < 3 {
			t.Fatalf("followed a line never written: %q", l)
		}
		fmt.Sscanf(l[:3], "%d", &n)
		if n <= last {
			t.Fatalf("line %d followed after line %d: repeated or reordered", n, last)
		}
		last = n
	}
	if last != 299 {
		t.Errorf("followed output ends at line %d, want 299", last)
	}
}
