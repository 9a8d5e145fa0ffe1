package image

import (
	"sync"
)

// Copy buffers of 1 MiB, pooled: a pull of many layers allocates a few.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { bufPool.Put(b) }
