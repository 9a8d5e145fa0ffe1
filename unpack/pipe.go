package unpack

import (
	"context"
	"io"
)

// chunkSize and chunkDepth bound the read-ahead of a prefetcher: at most
// chunkDepth+2 chunks are in memory.
const (
	chunkSize  = 256 << 10
	chunkDepth = 8
)

type chunk struct {
	buf *[]byte
	n   int
	err error
}

// prefetcher reads src in a goroutine (decompressing there) so that a
// second core can work while Apply creates files.
type prefetcher struct {
	ch     chan chunk
	free   chan *[]byte // chunks the reader is done with, for the goroutine to refill
	cur    chunk
	off    int
	cancel context.CancelFunc
	done   chan struct{}
}

func newPrefetcher(ctx context.Context, src io.Reader) *prefetcher {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetcher{ch: make(chan chunk, chunkDepth), free: make(chan *[]byte, chunkDepth+2),
		cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer close(p.ch)
		for {
			// The chunks are the prefetcher's own, not a sync.Pool's: a
			// pool is emptied by every GC and would make each GC cause
			// the next by reallocating them.
			var bp *[]byte
			select {
			case bp = <-p.free:
			default:
				b := make([]byte, chunkSize)
				bp = &b
			}
			n, err := io.ReadFull(src, *bp)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			select {
			case p.ch <- chunk{buf: bp, n: n, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

func (p *prefetcher) Read(b []byte) (int, error) {
	for p.cur.buf == nil || p.off == p.cur.n {
		if p.cur.buf != nil {
			if p.cur.err != nil {
				return 0, p.cur.err
			}
			p.release(p.cur.buf)
			p.cur.buf = nil
		}
		c, ok := <-p.ch
		if !ok {
			return 0, io.ErrClosedPipe
		}
		p.cur, p.off = c, 0
		if c.n == 0 && c.err != nil {
			return 0, c.err
		}
	}
	n := copy(b, (*p.cur.buf)[p.off:p.cur.n])
	p.off += n
	return n, nil
}

// next returns the next chunk's bytes, and the error that ended the
// stream with or after them. The previous chunk is handed back: its bytes
// must no longer be used. Read goes on after it.
func (p *prefetcher) next() ([]byte, error) {
	if p.cur.buf != nil {
		if p.cur.err != nil {
			return nil, p.cur.err
		}
		p.release(p.cur.buf)
		p.cur.buf = nil
	}
	c, ok := <-p.ch
	if !ok {
		return nil, io.ErrClosedPipe
	}
	p.cur, p.off = c, c.n
	return (*c.buf)[:c.n], c.err
}

// Close stops the goroutine and waits for it, so src is no longer read.
func (p *prefetcher) Close() {
	p.cancel()
	for range p.ch {
	}
	<-p.done
}

// release hands a read chunk back to the goroutine.
func (p *prefetcher) release(bp *[]byte) {
	select {
	case p.free <- bp:
	default:
	}
}
