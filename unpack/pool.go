package unpack

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Small regular files in directories this Apply made are created by a few
// worker goroutines, so that creating them uses both cores while Apply
// reads on. Apply hands them over in batches; everything else it does
// itself, after a barrier (all handed-over files done) wherever an entry
// could see or change what a worker is doing. See (*applier).toWorker for
// when a file may go to a worker.
const (
	poolWorkers  = 2
	batchFiles   = 64        // files per batch
	batchBytes   = 128 << 10 // content per batch (a larger file is written by Apply itself)
	poolBatches  = 2*poolWorkers + 2
	maxPoolBytes = batchBytes / 2 // largest file handed to a worker
)

// errPoolFailed is what a barrier returns once a worker has failed: the
// worker's error (an earlier entry's) is the one Apply reports.
var errPoolFailed = errors.New("a file creation failed")

// fileTask is one small file for a worker: everything is decided, only
// system calls remain.
type fileTask struct {
	pfd      int    // parent directory (a cached fd of the root, kept open until the batch is done)
	name     string // the entry's name, for errors
	key      nameKey
	base     int // offset of the NUL-terminated last component in batch.data
	off, n   int // content in batch.data
	perm     uint32
	uid, gid int   // -1: no chown
	chmod    int32 // -1: no chmod
	ts       [2]unix.Timespec
}

type batch struct {
	seq   int64
	files []fileTask
	data  []byte
	// set by the worker
	err   error // first failure, an *EntryError (or the context's)
	bytes int64
	made  int
}

func (b *batch) reset() {
	b.files, b.data, b.err, b.bytes, b.made = b.files[:0], b.data[:0], nil, 0, 0
}

// nameKey names a directory entry by its parent's identity and its name,
// whatever path reached the parent.
type nameKey struct {
	dir  dirID
	name string
}

// pool runs the workers of one Apply.
type pool struct {
	ctx    context.Context
	todo   chan *batch
	done   chan *batch
	wg     sync.WaitGroup
	cur    *batch   // being filled
	free   []*batch // reaped, for reuse
	made   int      // batches allocated
	out    int      // batches handed over and not reaped
	seq    int64
	stopAt atomic.Int64 // workers skip batches after this seq (a failed one)
	busy   map[nameKey]int64
	err    error // the first failure (lowest seq) reaped so far
	errSeq int64
	closed bool
	// counted as batches are reaped
	files int
	bytes int64
}

func newPool(ctx context.Context) *pool {
	p := &pool{ctx: ctx, todo: make(chan *batch, poolBatches), done: make(chan *batch, poolBatches),
		busy: map[nameKey]int64{}}
	p.stopAt.Store(1<<63 - 1)
	p.wg.Add(poolWorkers)
	for range poolWorkers {
		go p.worker()
	}
	return p
}

func (p *pool) worker() {
	defer p.wg.Done()
	for b := range p.todo {
		if b.seq <= p.stopAt.Load() {
			if err := p.ctx.Err(); err != nil {
				b.err = err
			} else {
				b.run()
			}
		}
		p.done <- b
	}
}

// run creates the batch's files, stopping at the first failure.
func (b *batch) run() {
	for i := range b.files {
		t := &b.files[i]
		if err := t.create(b.data); err != nil {
			b.err = &EntryError{Name: t.name, Op: "apply", Err: err}
			return
		}
		b.made++
		b.bytes += int64(t.n)
	}
}

// createFlags makes a new regular file, never through a symlink, never an
// existing one: the one way this package creates files.
const createFlags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC

func (t *fileTask) create(data []byte) error {
	base := unsafe.Pointer(&data[t.base])
	fd, err := openat(t.pfd, base, createFlags, t.perm)
	if err == unix.EEXIST {
		// A file of an earlier entry, done (the same name in flight waits
		// for it, and a directory or symlink there keeps the file from a
		// worker): replace it, as clear does.
		if err := unlinkat(t.pfd, base); err != nil {
			return fmt.Errorf("replace: %w", err)
		}
		fd, err = openat(t.pfd, base, createFlags, t.perm)
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if t.n > 0 {
		if _, err := rawFile(fd).Write(data[t.off : t.off+t.n]); err != nil {
			unix.Close(fd)
			return fmt.Errorf("write: %w", err)
		}
	}
	if t.uid >= 0 {
		if err := unix.Fchown(fd, t.uid, t.gid); err != nil {
			unix.Close(fd)
			return fmt.Errorf("chown: %w", err)
		}
	}
	if t.chmod >= 0 {
		if err := unix.Fchmod(fd, uint32(t.chmod)); err != nil {
			unix.Close(fd)
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if err := setFdTimes(fd, &t.ts); err != nil {
		unix.Close(fd)
		return err
	}
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

func openat(dirfd int, path unsafe.Pointer, flags int, mode uint32) (int, error) {
	for {
		r, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(path), uintptr(flags), uintptr(mode), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

func unlinkat(dirfd int, path unsafe.Pointer) error {
	if _, _, e := unix.Syscall(unix.SYS_UNLINKAT, uintptr(dirfd), uintptr(path), 0); e != 0 {
		return e
	}
	return nil
}

// inFlight reports whether a file named k was handed over and may not be
// done yet.
func (p *pool) inFlight(k nameKey) bool {
	_, ok := p.busy[k]
	return ok
}

// add hands a file over: t's base name and content are copied into the
// batch. It returns errPoolFailed once a worker has failed.
func (p *pool) add(t fileTask, base string, content func([]byte) error) error {
	if p.err != nil {
		return errPoolFailed
	}
	if p.cur != nil && (len(p.cur.files) == batchFiles || len(p.cur.data)+t.n+len(base)+1 > batchBytes) {
		p.send()
	}
	if p.cur == nil {
		if err := p.next(); err != nil {
			return err
		}
	}
	b := p.cur
	t.base = len(b.data)
	b.data = append(b.data, base...)
	b.data = append(b.data, 0)
	t.off = len(b.data)
	b.data = b.data[:t.off+t.n]
	if err := content(b.data[t.off:]); err != nil {
		b.data = b.data[:t.base]
		return err
	}
	b.files = append(b.files, t)
	p.busy[t.key] = b.seq
	return nil
}

// next makes p.cur an empty batch: a reaped one, a new one, or the next
// one a worker finishes.
func (p *pool) next() error {
	p.reap(false)
	switch {
	case len(p.free) > 0:
		p.cur = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
	case p.made < poolBatches:
		p.made++
		p.cur = &batch{files: make([]fileTask, 0, batchFiles), data: make([]byte, 0, batchBytes)}
	default:
		p.reap(true)
		if p.err != nil {
			return errPoolFailed
		}
		p.cur = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
	}
	p.seq++
	p.cur.seq = p.seq
	return nil
}

// send hands the current batch to the workers.
func (p *pool) send() {
	if p.cur == nil || len(p.cur.files) == 0 {
		return
	}
	p.out++
	p.todo <- p.cur // never blocks: there are at most poolBatches
	p.cur = nil
}

// reap takes finished batches back (waiting for one when wait is set),
// forgetting their names and noting the first failure.
func (p *pool) reap(wait bool) {
	for p.out > 0 {
		var b *batch
		if wait {
			b = <-p.done
			wait = false
		} else {
			select {
			case b = <-p.done:
			default:
				return
			}
		}
		p.out--
		for _, t := range b.files {
			if p.busy[t.key] == b.seq {
				delete(p.busy, t.key)
			}
		}
		p.files += b.made
		p.bytes += b.bytes
		if b.err != nil && (p.err == nil || b.seq < p.errSeq) {
			p.err, p.errSeq = b.err, b.seq
			p.stopAt.Store(b.seq)
		}
		b.reset()
		p.free = append(p.free, b)
	}
}

// barrier waits until every file handed over is done. It returns
// errPoolFailed when one failed.
func (p *pool) barrier() error {
	if p.cur != nil && len(p.cur.files) > 0 {
		p.send()
	}
	for p.out > 0 {
		p.reap(true)
	}
	if p.err != nil {
		return errPoolFailed
	}
	return nil
}

// close stops the workers after the batches handed over (skipped once one
// failed) and returns the first failure.
func (p *pool) close() error {
	if p.closed {
		return p.err
	}
	p.closed = true
	if p.err == nil && p.ctx.Err() != nil {
		p.stopAt.Store(0)
	}
	p.send()
	for p.out > 0 {
		p.reap(true)
	}
	close(p.todo)
	p.wg.Wait()
	return p.err
}
