// Command ctr-lite pulls, unpacks, inspects and runs container images
// without a daemon. Each subcommand is a thin wrapper: flags, one library
// call, print.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/pkg/runner"
	"github.com/ctrlite/ctr-lite/pkg/userns"
	"github.com/spf13/cobra"
)

// GOMAXPROCS stays cgroup-aware (the Go 1.25 default, GODEBUG
// containermaxprocs=1): pull and unpack run several layers at once, and
// under a CPU quota more Ps than the quota allows only get the process
// throttled. Turning it off would not make start-up cheaper either: the
// runtime (Go 1.26) reads /proc/self/cgroup, /proc/self/mountinfo and the
// quota files at every start whatever the setting, only to count
// non-default behaviour; a static hello world pays the same. The
// container init that `run` re-executes never gets to use more than one
// thread, so the setting does not matter to it.

// memoryLimit is the soft memory limit of every command (see main).
const memoryLimit = 40 << 20

func main() {
	// The runner re-executes this binary to set up a container; that child
	// never returns from Init.
	runner.Init()
	// As an ordinary user some commands re-execute themselves in a user
	// namespace; the first stage of that child waits here for its maps.
	userns.Init()
	// A soft memory limit: the garbage collector works harder as the heap
	// nears it, which keeps a pull or unpack under 50 MiB of RSS whatever
	// the image size (two zstd windows and GOGC's doubling otherwise let it
	// reach 70 MiB). 40 MiB, not less: two layers unpacking at once hold
	// about 25 MiB (zstd windows, read-ahead, a big layer's path index), and
	// a limit just above that made a GC run every MiB allocated (200 GCs for
	// a 600 MB zstd image, 8% of the CPU; now under 20). GOMEMLIMIT
	// overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// execute runs the command line and returns the exit status: the one place
// an error becomes an exit code (an *errdefs.ExitError's own, 130 when
// interrupted, 2 for usage, else 1).
func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-v") {
		// What cobra prints for it, without the command, the flags and
		// the template it would build first.
		fmt.Fprintf(stdout, "ctr-lite %s\n", version)
		return 0
	}
	return executeCmd(ctx, newRootCmdFor(args), args, stdin, stdout, stderr)
}

func executeCmd(ctx context.Context, cmd *cobra.Command, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd.SetArgs(args)
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.ExecuteContext(context.WithValue(ctx, argsKey{}, args))
	if err == nil {
		return 0
	}
	var ex *errdefs.ExitError
	if errors.As(err, &ex) {
		if ex.Err != nil {
			fmt.Fprintf(stderr, "ctr-lite: %v\n", ex.Err)
		}
		return ex.Code
	}
	fmt.Fprintf(stderr, "ctr-lite: %v\n", err)
	if errors.Is(err, context.Canceled) {
		return 130
	}
	if errors.Is(err, reference.ErrInvalid) {
		return 2 // a reference the user typed: a usage error
	}
	return 1
}

// usageError marks bad flags or arguments: exit status 2 for check, and a
// pointer to --help everywhere.
func usageError(format string, a ...any) error {
	return &errdefs.ExitError{Code: 2, Err: fmt.Errorf(format+" (see --help)", a...)}
}
