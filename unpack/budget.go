package unpack

import (
	"fmt"
	"io"
	"sync/atomic"
)

// Budget caps the uncompressed bytes that the ApplyLayer calls sharing it
// may read, all together: a gzip or zstd bomb fails with ErrLimit instead
// of filling the disk. It is safe for concurrent use.
type Budget struct {
	max  int64
	used atomic.Int64
}

// NewBudget returns a budget of max uncompressed bytes.
func NewBudget(max int64) *Budget { return &Budget{max: max} }

// budgetReader reads r, charging what it reads to b.
type budgetReader struct {
	r io.Reader
	b *Budget
}

func (br budgetReader) Read(p []byte) (int, error) {
	n, err := br.r.Read(p)
	if br.b.used.Add(int64(n)) > br.b.max {
		return n, fmt.Errorf("layers uncompress to more than %d bytes: %w", br.b.max, ErrLimit)
	}
	return n, err
}
