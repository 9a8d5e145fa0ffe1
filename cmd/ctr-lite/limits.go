package main

import (
	"fmt"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/spf13/pflag"
)

// pullLimits are the flags that bound a download, on every command that
// pulls.
type pullLimits struct {
	timeout time.Duration
	// rateInterval replaces the minimum rate's interval (hidden: for tests).
	rateInterval time.Duration
}

func (l *pullLimits) add(f *pflag.FlagSet) {
	r := image.DefaultMinRate
	f.DurationVar(&l.timeout, "timeout", 0, fmt.Sprintf(
		"fail a pull not done after this `duration`, e.g. 10m (default: none; a pull always fails when less than %d bytes arrive in %s)",
		r.Bytes, r.Interval))
	f.DurationVar(&l.rateInterval, "min-rate-interval", 0, "interval of the minimum download rate")
	f.MarkHidden("min-rate-interval")
}

// apply sets the limits on po.
func (l *pullLimits) apply(po image.PullOptions) image.PullOptions {
	po.Timeout = l.timeout
	if l.rateInterval > 0 {
		po.MinRate = image.MinRate{Bytes: image.DefaultMinRate.Bytes, Interval: l.rateInterval}
	}
	return po
}
