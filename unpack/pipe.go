package unpack

import (
	"context"
	"io"
	"sync"
)

// chunkSize and chunkDepth bound the read-ahead of a prefetcher: at most
// chunkDepth+2 chunks are in memory.
const (
	chunkSize  = 256 << 10
	chunkDepth = 8
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

type chunk struct {
	buf *[]byte
	n   int
	err error
}

// prefetcher reads src in a goroutine (decompressing there) so that a
// second core can work while Apply creates files. When sink is set, each
// chunk is also written to it on the reading side: hashing belongs to
// whichever side has time to spare.
type prefetcher struct {
	ch     chan chunk
	cur    chunk
	off    int
	sink   io.Writer
	cancel context.CancelFunc
	done   chan struct{}
}

func newPrefetcher(ctx context.Context, src io.Reader) *prefetcher {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetcher{ch: make(chan chunk, chunkDepth), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer close(p.ch)
		for {
			bp := chunkPool.Get().(*[]byte)
			n, err := io.ReadFull(src, *bp)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			select {
			case p.ch <- chunk{buf: bp, n: n, err: err}:
			case <-ctx.Done():
				chunkPool.Put(bp)
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
			chunkPool.Put(p.cur.buf)
			p.cur.buf = nil
		}
		c, ok := <-p.ch
		if !ok {
			return 0, io.ErrClosedPipe
		}
		if p.sink != nil && c.n > 0 {
			p.sink.Write((*c.buf)[:c.n])
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

// Close stops the goroutine and waits for it, so src is no longer read.
func (p *prefetcher) Close() {
	p.cancel()
	for c := range p.ch {
		chunkPool.Put(c.buf)
	}
	<-p.done
}
