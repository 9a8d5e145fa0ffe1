package content

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

func BenchmarkWriteBlob16MiB(b *testing.B) {
	data, desc := randomBlob(b, 16<<20)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		s := openStore(b)
		if err := s.WriteBlob(context.Background(), desc, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSetName(b *testing.B) {
	s := openStore(b)
	d := put(b, s, "", []byte("x"))
	for i := 0; i < b.N; i++ {
		if err := s.SetName(context.Background(), fmt.Sprintf("example.com/n:%d", i%100), d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFsck(b *testing.B) {
	s := openStore(b)
	data, desc := randomBlob(b, 16<<20)
	s.WriteBlob(context.Background(), desc, bytes.NewReader(data))
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Fsck(context.Background(), false); err != nil {
			b.Fatal(err)
		}
	}
}
