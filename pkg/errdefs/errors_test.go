package errdefs

import (
	"errors"
	"fmt"
	"testing"
)

func TestDiffIDMismatchIsDigestMismatch(t *testing.T) {
	err := fmt.Errorf("layer 1: %w", ErrDiffIDMismatch)
	if !errors.Is(err, ErrDiffIDMismatch) || !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("%v: want both ErrDiffIDMismatch and ErrDigestMismatch", err)
	}
	if errors.Is(fmt.Errorf("blob: %w", ErrDigestMismatch), ErrDiffIDMismatch) {
		t.Fatal("a plain digest mismatch must not be a diff_id mismatch")
	}
	for _, e := range []error{ErrNotFound, ErrExists, ErrSizeMismatch, ErrTooLarge} {
		if errors.Is(e, ErrDigestMismatch) {
			t.Errorf("%v is not a digest mismatch", e)
		}
	}
}

func TestExitError(t *testing.T) {
	err := fmt.Errorf("run: %w", &ExitError{Code: 127, Err: fmt.Errorf("exec x: %w", ErrNotFound)})
	var xe *ExitError
	if !errors.As(err, &xe) || xe.Code != 127 || !errors.Is(err, ErrNotFound) {
		t.Fatalf("%v: want an ExitError 127 wrapping ErrNotFound", err)
	}
	if got := err.Error(); got != "run: exec x: not found (exit status 127)" {
		t.Errorf("message %q", got)
	}
	if got := (&ExitError{Code: 1}).Error(); got != "exit status 1" {
		t.Errorf("message without cause %q", got)
	}
}
