package main

import (
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/userns"
	"github.com/spf13/cobra"
)

// userNSCommands write or run container files (snapshots, containers'
// upper layers) or signal containers: as an ordinary user they run as root
// of a user namespace (package userns), so snapshots keep the image's
// owners and rm/gc/fsck can delete and read them. unpack and bundle write
// into the caller's directory and stay outside, owned by the caller.
var userNSCommands = map[string]bool{
	"ctr-lite run": true, "ctr-lite pull": true, "ctr-lite rm": true, "ctr-lite kill": true,
	"ctr-lite gc": true, "ctr-lite fsck": true,
}

type argsKey struct{}

// enterUserNS re-runs the command line in a user namespace when cmd needs
// one and the caller is not root; the child's status ends this process
// (an ExitError without message).
func enterUserNS(cmd *cobra.Command) error {
	args, ok := cmd.Context().Value(argsKey{}).([]string)
	if !userNSCommands[cmd.CommandPath()] || !ok || !userns.Needed() {
		return nil
	}
	p, err := userns.MakePlan()
	if err != nil {
		return &errdefs.ExitError{Code: 125, Err: err}
	}
	if w := p.Warning(); w != "" && (cmd.Name() == "run" || cmd.Name() == "pull") {
		fmt.Fprintln(cmd.ErrOrStderr(), "ctr-lite:", w)
	}
	code, err := userns.Enter(cmd.Context(), p, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
	if err != nil {
		return &errdefs.ExitError{Code: 125, Err: err}
	}
	return &errdefs.ExitError{Code: code}
}
