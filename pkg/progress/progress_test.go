package progress

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/units"
	"github.com/opencontainers/go-digest"
)

func TestLines(t *testing.T) {
	var buf bytes.Buffer
	r := Auto(&buf, false) // a buffer is no terminal: plain lines
	a := digest.FromString("a")
	b := digest.FromString("b")
	c := digest.FromString("c")
	r.Start(a, "layer", 2048, 0, image.Fetching)
	r.Start(b, "layer", 10, 0, image.Exists)
	r.Start(c, "config", 5<<20, 1<<20, image.Resumed)
	r.Done(a, nil)
	r.Done(c, errors.New("boom"))
	r.Wait()
	want := []string{
		"layer " + units.ShortDigest(a.String()) + ": downloading 2.0 kB",
		"layer " + units.ShortDigest(b.String()) + ": exists (10 B)",
		"config " + units.ShortDigest(c.String()) + ": resuming at 1.0 MB of 5.2 MB",
		units.ShortDigest(a.String()) + ": done",
		units.ShortDigest(c.String()) + ": failed: boom",
	}
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", buf.String(), strings.Join(want, "\n"))
	}
}

func TestQuiet(t *testing.T) {
	var buf bytes.Buffer
	r := Auto(&buf, true)
	r.Start(digest.FromString("a"), "layer", 1, 0, image.Fetching)
	r.Done(digest.FromString("a"), nil)
	r.Wait()
	if buf.Len() != 0 {
		t.Fatalf("quiet reporter printed %q", buf.String())
	}
}

// Bars count in decimal units, as the summaries and inspect do: the same
// blob is "5.2 MB" everywhere, never "5.0 MiB".
func TestBarsDecimalUnits(t *testing.T) {
	var buf bytes.Buffer
	b := NewBars(&buf)
	d := digest.FromString("a")
	b.Start(d, "layer", 5<<20, 0, image.Fetching)
	b.Add(d, 5<<20)
	b.Done(d, nil)
	b.Wait()
	out := buf.String()
	if !strings.Contains(out, "5.2 MB") || strings.Contains(out, "iB") {
		t.Errorf("bars printed %q; want decimal units (5.2 MB)", out)
	}
}
