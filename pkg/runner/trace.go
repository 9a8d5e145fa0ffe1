package runner

import (
	"fmt"
	"os"
	"time"
)

// tracer prints phase durations to stderr when CTRLITE_RUNNER_TRACE=1: how
// we find out where the milliseconds of a start go.
type tracer struct {
	on   bool
	who  string
	last time.Time
}

func newTracer(who string, on bool) *tracer {
	return &tracer{on: on, who: who, last: time.Now()}
}

func (t *tracer) mark(phase string) {
	if t == nil || !t.on {
		return
	}
	now := time.Now()
	fmt.Fprintf(os.Stderr, "trace %s %-22s %6.2fms\n", t.who, phase, float64(now.Sub(t.last).Microseconds())/1000)
	t.last = now
}
