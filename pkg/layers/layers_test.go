package layers

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunWaitsOnlyWhenAsked(t *testing.T) {
	var order []int
	var running, peak atomic.Int32
	done := make(chan int, 4)
	err := Run(context.Background(), 4, 2, func(ctx context.Context, i int, wait func() error) error {
		if i == 3 { // the top layer needs its lowers; waiting frees its slot
			if err := wait(); err != nil {
				return err
			}
		}
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(time.Duration(10*(4-i)) * time.Millisecond)
		done <- i
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	close(done)
	for i := range done {
		order = append(order, i)
	}
	if order[len(order)-1] != 3 {
		t.Errorf("layer 3 waited for its lowers, yet finished before them: %v", order)
	}
	if peak.Load() > 2 {
		t.Errorf("%d jobs ran at once, limit 2", peak.Load())
	}
}

func TestRunReportsTheCause(t *testing.T) {
	boom := errors.New("boom")
	err := Run(context.Background(), 3, 3, func(ctx context.Context, i int, wait func() error) error {
		switch i {
		case 0:
			time.Sleep(10 * time.Millisecond)
			return boom
		default:
			return wait()
		}
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the failing layer's error", err)
	}
}

func TestRunNoDeadlockWithOneSlot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := Run(ctx, 5, 1, func(ctx context.Context, i int, wait func() error) error { return wait() })
	if err != nil {
		t.Fatal(err)
	}
}
