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
