package runner

import (
	"errors"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
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

// failed is Run's answer when ctr-lite itself failed: an
// *errdefs.ExitError with status 125. Run also returns one with 126 or 127
// for start failures and 137 for an OOM kill.
func failed(err error) (int, error) {
	return CodeRunnerFailed, &errdefs.ExitError{Code: CodeRunnerFailed, Err: err}
}
