package image

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
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
