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

// TestBarsFinalFrame: after Wait the last frame shows every blob's end
// state, one line each, redrawn in place over the earlier frame.
func TestBarsFinalFrame(t *testing.T) {
	var buf bytes.Buffer
	b := NewBars(&buf)
	got, have, bad := digest.FromString("got"), digest.FromString("have"), digest.FromString("bad")
	b.Start(got, "layer 1/3", 2000, 500, image.Resumed)
	b.Start(have, "layer 2/3", 3000, 3000, image.Exists)
	b.Start(bad, "layer 3/3", 4000, 0, image.Fetching)
	b.Add(got, 1500)
	b.Add(bad, 1000)
	b.Done(have, nil)
	b.Done(got, nil)
	b.Done(bad, errors.New("reset"))
	b.Wait()
	last := strings.Split(strings.TrimSpace(lastFrame(buf.String())), "\n")
	if len(last) != 3 {
		t.Fatalf("last frame has %d lines: %q", len(last), buf.String())
	}
	for i, want := range []string{"2.0 kB / 2.0 kB done resumed", "3.0 kB / 3.0 kB done exists", "1.0 kB / 4.0 kB failed"} {
		if !strings.HasSuffix(last[i], want) || !strings.Contains(last[i], "layer") {
			t.Errorf("line %d = %q, want ... %q", i+1, last[i], want)
		}
	}
	if !strings.Contains(last[0], "["+strings.Repeat("=", barWidth)+"]") {
		t.Errorf("a finished bar is not full: %q", last[0])
	}
	// A reporter reused after Wait starts a new set of bars.
	buf.Reset()
	b.Start(got, "config", 10, 0, image.Fetching)
	b.Add(got, 10)
	b.Done(got, nil)
	b.Wait()
	if out := lastFrame(buf.String()); strings.Count(out, "\n") != 1 || !strings.Contains(out, "10 B / 10 B done") {
		t.Errorf("second use printed %q", buf.String())
	}
}

// lastFrame is what follows the last cursor-up (the start of a redraw).
func lastFrame(out string) string {
	if i := strings.LastIndex(out, "A\r\x1b[2K"); i >= 0 {
		return out[i+1:]
	}
	return out
}
