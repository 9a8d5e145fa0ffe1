package content

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestFollowReadsWhileWriting(t *testing.T) {
	st := openStore(t)
	data := make([]byte, 3<<20)
	rand.New(rand.NewSource(1)).Read(data)
	desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := st.Writer(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:1000]) // the follower starts with some bytes there
	got := make(chan []byte, 1)
	errs := make(chan error, 1)
	go func() {
		r, err := st.Follow(ctx, desc)
		if err != nil {
			errs <- err
			return
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			errs <- err
			return
		}
		got <- b
	}()
	for off := 1000; off < len(data); off += 64 << 10 {
		end := min(off+64<<10, len(data))
		if _, err := w.Write(data[off:end]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()
	select {
	case b := <-got:
		if !bytes.Equal(b, data) {
			t.Fatalf("followed %d bytes, not the blob", len(b))
		}
	case err := <-errs:
		t.Fatal(err)
	}
	// A committed blob is simply opened.
	r, err := st.Follow(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(b, data) {
		t.Fatal("Follow of a committed blob")
	}
}

func TestFollowAbandoned(t *testing.T) {
	defer func(d time.Duration) { abandonAfter = d }(abandonAfter)
	abandonAfter = 200 * time.Millisecond
	st := openStore(t)
	data := bytes.Repeat([]byte("x"), 1<<20)
	desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tests := []struct {
		name string
		end  func(w *Writer)
	}{
		{"bad bytes discarded", func(w *Writer) {
			w.Write(bytes.Repeat([]byte("y"), 1<<19))
			w.Write(bytes.Repeat([]byte("y"), 1<<19))
			w.Commit(ctx)
			w.Close()
		}},
		{"writer gone", func(w *Writer) { w.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := st.Writer(ctx, desc)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data[:100])
			r, err := st.Follow(ctx, desc)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			done := make(chan error, 1)
			go func() { _, err := io.ReadAll(r); done <- err }()
			time.Sleep(20 * time.Millisecond)
			tt.end(w)
			select {
			case err := <-done:
				if !errors.Is(err, ErrAbandoned) {
					t.Fatalf("err = %v, want ErrAbandoned", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("follower hung after the writer went away")
			}
		})
	}
}
