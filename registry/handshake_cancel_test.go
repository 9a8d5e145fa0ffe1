package registry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/reference"
)

// TestHandshakeWaiterCancels: a caller waiting on a handshake another
// caller started (here a ping the registry never answers) returns as soon
// as its own context ends, instead of waiting for the shared handshake.
func TestHandshakeWaiterCancels(t *testing.T) {
	release := make(chan struct{})
	var pings atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			pings.Add(1)
			<-release
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	ref, err := reference.Parse(strings.TrimPrefix(srv.URL, "http://") + "/app/one:v1")
	if err != nil {
		t.Fatal(err)
	}
	c := testClient(t, Options{})
	go c.Head(testCtx(t), ref) // starts the handshake, which hangs
	deadline := time.Now().Add(10 * time.Second)
	for pings.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first caller never pinged")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err = c.Head(ctx, ref)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 5*time.Second {
		t.Errorf("waiter returned %v after %v, want its deadline within 5s", err, time.Since(t0))
	}
}
