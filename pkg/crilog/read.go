package crilog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Record is one parsed log line.
type Record struct {
	Time    []byte // as written (RFC3339Nano)
	Stream  string
	Partial bool
	Payload []byte
}

// Parse reads one record (without its trailing newline).
func Parse(line []byte) (Record, error) {
	f := bytes.SplitN(line, []byte{' '}, 4)
	if len(f) < 3 {
		return Record{}, fmt.Errorf("log record %q: too few fields", line)
	}
	r := Record{Time: f[0], Stream: string(f[1])}
	if r.Stream != Stdout && r.Stream != Stderr {
		return r, fmt.Errorf("log record %q: stream %q", line, f[1])
	}
	switch string(f[2]) {
	case "P":
		r.Partial = true
	case "F":
	default:
		return r, fmt.Errorf("log record %q: tag %q", line, f[2])
	}
	if len(f) == 4 {
		r.Payload = f[3]
	}
	return r, nil
}

// Options say what Copy prints.
type Options struct {
	Tail       int  // print only the last Tail lines; < 0: all
	Timestamps bool // prefix each line with its time
	// Running, when set, makes Copy follow the log: it waits for more
	// records until Running reports false, then prints what is left.
	Running func() bool
	// Poll is how often a followed log is checked (default 100 ms).
	Poll time.Duration
	// Since, when set, skips the records written before it.
	Since time.Time
}

// Copy prints the payload of the log at path (its rotated file first):
// stdout records to stdout, stderr records to stderr.
func Copy(ctx context.Context, path string, opts Options, stdout, stderr io.Writer) error {
	p := &printer{out: stdout, err: stderr, ts: opts.Timestamps, start: map[string]bool{Stdout: true, Stderr: true}}
	var recs []Record // buffered for --tail
	emit := p.print
	if !opts.Since.IsZero() {
		p.since = opts.Since
	}
	if opts.Tail >= 0 {
		emit = func(r Record) error { recs = append(recs, r); return nil }
	}
	if f, err := os.Open(path + ".1"); err == nil {
		err := (&reader{f: f}).drain(emit)
		f.Close()
		if err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	rd := &reader{f: f}
	defer func() { rd.f.Close() }()
	if err := rd.drain(emit); err != nil {
		return err
	}
	if opts.Tail >= 0 {
		for _, r := range tail(recs, opts.Tail) {
			if err := p.print(r); err != nil {
				return err
			}
		}
	}
	if opts.Running == nil {
		return nil
	}
	poll := opts.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	for {
		running := opts.Running()
		if err := rd.drain(p.print); err != nil {
			return err
		}
		// Rotated: the old file was read to its end (the writer renames
		// it only after its last record); go on with the new one.
		if nf, err := os.Open(path); err == nil {
			a, aerr := rd.f.Stat()
			b, berr := nf.Stat()
			if aerr == nil && berr == nil && !os.SameFile(a, b) {
				if err := rd.drain(p.print); err != nil {
					nf.Close()
					return err
				}
				rd.f.Close()
				rd = &reader{f: nf}
				continue
			}
			nf.Close()
		}
		if !running {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// reader reads records from a file that may still grow: a record being
// written (no newline yet) is kept for the next drain.
type reader struct {
	f     *os.File
	carry []byte
	buf   []byte // read buffer, made once: drain runs at every poll of a follow
}

func (r *reader) drain(emit func(Record) error) error {
	if r.buf == nil {
		r.buf = make([]byte, 64<<10)
	}
	for {
		n, err := r.f.Read(r.buf)
		buf := r.buf
		data := append(r.carry, buf[:n]...)
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			rec, perr := Parse(data[:i])
			data = data[i+1:]
			if perr != nil {
				continue // not a record (torn by a crash): skip it
			}
			if err := emit(rec); err != nil {
				return err
			}
		}
		r.carry = append([]byte(nil), data...)
		if errors.Is(err, io.EOF) || n == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
	}
}

// tail keeps the records of the last n lines (an unfinished last line
// counts as one).
func tail(recs []Record, n int) []Record {
	if n == 0 || len(recs) == 0 {
		return nil
	}
	lines := 0
	if recs[len(recs)-1].Partial {
		lines = 1
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Partial {
			continue
		}
		if lines == n {
			return recs[i+1:]
		}
		lines++
	}
	return recs
}

// printer writes payloads, one line per F record, with the time of a
// line's first record when ts.
type printer struct {
	out, err io.Writer
	ts       bool
	start    map[string]bool // the stream is at the start of a line
	since    time.Time       // skip records older (zero: none)
}

func (p *printer) print(r Record) error {
	if !p.since.IsZero() && olderThan(r.Time, p.since) {
		return nil
	}
	w := p.out
	if r.Stream == Stderr {
		w = p.err
	}
	var b []byte
	if p.ts && p.start[r.Stream] {
		b = append(append(b, r.Time...), ' ')
	}
	b = append(b, r.Payload...)
	if !r.Partial {
		b = append(b, '\n')
	}
	p.start[r.Stream] = !r.Partial
	_, err := w.Write(b)
	return err
}

// olderThan reports whether the RFC3339Nano time a is before t; a time
// that does not parse is not older.
func olderThan(a []byte, t time.Time) bool {
	ta, err := time.Parse(time.RFC3339Nano, string(a))
	return err == nil && ta.Before(t)
}
