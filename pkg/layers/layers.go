package layers

import (
	"context"
	"errors"
	"sync"
)

// ErrLowerFailed is what a job's wait returns when a lower job failed.
var ErrLowerFailed = errors.New("a lower layer failed")

// Run runs job(ctx, i, wait) for i in [0, n), at most parallel at once.
// wait blocks until jobs 0..i-1 are done and reports whether they all
// succeeded. The first failure cancels the rest; the error returned is the
// first one that is not merely a consequence of another.
func Run(ctx context.Context, n, parallel int, job func(ctx context.Context, i int, wait func() error) error) error {
	if parallel < 1 {
		parallel = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The first job to fail is the cause; the others fail because of it
	// (cancelled reads, ErrLowerFailed), whatever their layer order.
	var (
		causeOnce sync.Once
		cause     error
	)
	sem := make(chan struct{}, parallel)
	done := make([]chan struct{}, n)
	errs := make([]error, n)
	for i := range done {
		done[i] = make(chan struct{})
	}
	acquire := func(ctx context.Context) error {
		select {
		case sem <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i := 0; i < n; i++ {
		go func() {
			defer close(done[i])
			if err := acquire(ctx); err != nil {
				errs[i] = err
				return
			}
			defer func() { <-sem }()
			wait := func() error {
				<-sem
				defer acquire(context.WithoutCancel(ctx))
				for j := 0; j < i; j++ {
					select {
					case <-done[j]:
					case <-ctx.Done():
						return ctx.Err()
					}
					if errs[j] != nil {
						return ErrLowerFailed
					}
				}
				return nil
			}
			if errs[i] = job(ctx, i, wait); errs[i] != nil {
				causeOnce.Do(func() { cause = errs[i] })
				cancel()
			}
		}()
	}
	for i := range done {
		<-done[i]
	}
	if cause == nil {
		for _, err := range errs { // jobs that never started: the caller's ctx ended
			if err != nil {
				return err
			}
		}
	}
	return cause
}
