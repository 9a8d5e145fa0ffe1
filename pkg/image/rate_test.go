package image

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestPullSlowServer checks that a registry sending a byte at a time fails
// the pull, by the minimum rate or by the timeout, with a clear error and
// the store's lease released (gc does not wait).
func TestPullSlowServer(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	testutil.PushImage(t, reg, "slow/app:1", testImage(t, 2))
	tests := []struct {
		name string
		opts PullOptions
		want string
	}{
		{"minimum rate", PullOptions{MinRate: MinRate{Bytes: 1 << 10, Interval: 500 * time.Millisecond}},
			"download too slow: "},
		{"timeout", PullOptions{MinRate: MinRate{Bytes: -1}, Timeout: time.Second},
			"not done after 1s (--timeout)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testutil.StartFaultProxy(t, reg)
			p.Add(testutil.Fault{Kind: testutil.FaultTrickle, Method: "GET", Path: "/blobs/", After: 100, Duration: 50 * time.Millisecond})
			st, rc := setup(t)
			start := time.Now()
			_, err := Pull(context.Background(), st, rc, mustParse(t, p.Host+"/slow/app:1"), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("the pull took %s to fail", d)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			done, err := st.Root().Collecting(ctx)
			if err != nil {
				t.Fatalf("gc still waits for the failed pull's lease: %v", err)
			}
			done()
		})
	}
}

// TestPullWaitingIsNotSlow: while another writer (another process's pull)
// holds a blob's ingest lock, this pull receives nothing, yet it is not
// "too slow": it waits, then finds the blob committed.
func TestPullWaitingIsNotSlow(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	img := testImage(t, 1)
	testutil.PushImage(t, reg, "wait/app:1", img)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ld, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	size, _ := layers[0].Size()
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	st, client := setup(t)
	ctx := context.Background()
	w, err := st.Writer(ctx, ocispec.Descriptor{Digest: digest.Digest(ld.String()), Size: size})
	if err != nil {
		t.Fatal(err)
	}
	pulled := make(chan error, 1)
	go func() {
		_, err := Pull(ctx, st, client, mustParse(t, reg.Host+"/wait/app:1"),
			PullOptions{MinRate: MinRate{Bytes: 1 << 10, Interval: 200 * time.Millisecond}})
		pulled <- err
	}()
	time.Sleep(time.Second) // five rate intervals with nothing received
	if _, err := io.Copy(w, rc); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := <-pulled; err != nil {
		t.Fatalf("a pull waiting for another writer failed: %v", err)
	}
}
