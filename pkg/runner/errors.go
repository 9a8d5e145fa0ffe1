package runner

import (
	"errors"
	"fmt"
)

// Exit codes ctr-lite uses for its own failures, as docker does.
const (
	CodeRunnerFailed  = 125 // ctr-lite itself failed (setup, mounts, cgroups...)
	CodeNotExecutable = 126 // the command exists but cannot be executed
	CodeNotFound      = 127 // the command was not found
	CodeOOMKilled     = 137 // 128+SIGKILL, reported with ErrOOMKilled
)

var (
	// ErrNotExecutable: the command exists but cannot be run (exit 126).
	ErrNotExecutable = errors.New("cannot execute")
	// ErrOOMKilled: the kernel OOM killer killed the container (exit 137).
	ErrOOMKilled = errors.New("container killed by the OOM killer (memory limit reached)")
	// ErrInvalidConfig: Config is incomplete.
	ErrInvalidConfig = errors.New("invalid runner config")
)

// ExitError is returned by Run with the exit status ctr-lite should exit
// with: 125, 126, 127 for start failures, 137 for an OOM kill.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return fmt.Sprintf("%v (exit status %d)", e.Err, e.Code) }

func (e *ExitError) Unwrap() error { return e.Err }

func failed(err error) (int, error) {
	return CodeRunnerFailed, &ExitError{Code: CodeRunnerFailed, Err: err}
}
