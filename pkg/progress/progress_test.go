package progress

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestLines(t *testing.T) {
	var buf bytes.Buffer
	r := Auto(&buf, false) // a buffer is no terminal: plain lines
	a := digest.FromString("a")
	b := digest.FromString("b")
	c := digest.FromString("c")
	r.Start(a, "layer", 2048, 0, Fetching)
	r.Start(b, "layer", 10, 0, Exists)
	r.Start(c, "config", 5<<20, 1<<20, Resumed)
	r.Done(a, nil)
	r.Done(c, errors.New("boom"))
	r.Wait()
	want := []string{
		"layer " + Short(a) + ": downloading 2.0KiB",
		"layer " + Short(b) + ": exists (10B)",
		"config " + Short(c) + ": resuming at 1.0MiB of 5.0MiB",
		Short(a) + ": done",
		Short(c) + ": failed: boom",
	}
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", buf.String(), strings.Join(want, "\n"))
	}
}

func TestQuiet(t *testing.T) {
	var buf bytes.Buffer
	r := Auto(&buf, true)
	r.Start(digest.FromString("a"), "layer", 1, 0, Fetching)
	r.Done(digest.FromString("a"), nil)
	r.Wait()
	if buf.Len() != 0 {
		t.Fatalf("quiet reporter printed %q", buf.String())
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 1023: "1023B", 1024: "1.0KiB", 1536: "1.5KiB", 3 << 30: "3.0GiB"} {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
