package errdefs

import "fmt"

// ExitError carries the exit status a failure maps to (the runner's 125,
// 126, 127 and 137, check's 1 and 2, ...) up to the CLI, which prints Err,
// when there is one, and exits with Code.
type ExitError struct {
	Code int
	Err  error // nil: nothing to print (the command already said it)
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return fmt.Sprintf("%v (exit status %d)", e.Err, e.Code)
}

func (e *ExitError) Unwrap() error { return e.Err }
