package crilog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// MaxRecord is the most payload bytes one record holds; longer lines are
// split into P records.
const MaxRecord = 16 << 10

// Stdout and Stderr are the stream names.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Log is an open log file. Its streams may be written concurrently.
type Log struct {
	mu    sync.Mutex
	path  string
	max   int64 // rotate before a record would make the file larger; 0: never
	chunk int   // payload bytes per record
	f     *os.File
	size  int64
}

// Open opens (appending to) the log at path, rotated at maxSize bytes
// (0: never). A limit below 1 KiB is raised to 1 KiB.
func Open(path string, maxSize int64) (*Log, error) {
	if maxSize > 0 && maxSize < 1<<10 {
		maxSize = 1 << 10
	}
	l := &Log{path: path, max: maxSize, chunk: MaxRecord}
	if maxSize > 0 && int64(l.chunk) > maxSize-64 {
		l.chunk = int(maxSize - 64) // a record with its header fits in one file
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Stream returns a writer that logs what it is given as stream name.
func (l *Log) Stream(name string) io.Writer { return stream{l, name} }

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

type stream struct {
	l    *Log
	name string
}

// Write logs p: one F record per line, a P record for what follows the
// last newline, P records for the parts of a line longer than a record.
func (s stream) Write(p []byte) (int, error) {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	rest := p
	for len(rest) > 0 {
		line, tag := rest, "P"
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, tag = rest[:i], "F"
		}
		if len(line) > s.l.chunk {
			line, tag = line[:s.l.chunk], "P"
		}
		rest = rest[len(line):]
		if tag == "F" {
			rest = rest[1:]
		}
		if err := s.l.record(now, s.name, tag, line); err != nil {
			return len(p) - len(rest), err
		}
	}
	return len(p), nil
}

// record appends one record, rotating first when it would not fit.
func (l *Log) record(now, name, tag string, payload []byte) error {
	rec := make([]byte, 0, len(now)+len(name)+len(payload)+6)
	rec = append(append(append(append(append(append(rec, now...), ' '), name...), ' '), tag...), ' ')
	rec = append(append(rec, payload...), '\n')
	if l.max > 0 && l.size > 0 && l.size+int64(len(rec)) > l.max {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(rec)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	return nil
}

func (l *Log) rotate() error {
	l.f.Close()
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	return l.open()
}
