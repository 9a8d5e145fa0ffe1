package main

import (
	"errors"
	"fmt"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/dataroot"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/userns"
	"github.com/spf13/cobra"
)

// userNSCommands write or run container files (snapshots, containers'
// upper layers): as an ordinary user they run as root of a user namespace
// (package userns; start too: its monitor runs the container), so snapshots keep the image's owners and rm/gc/fsck
// can delete and read them. unpack and bundle write into the caller's
// directory and stay outside, owned by the caller. kill stays outside too:
// each run has a namespace of its own, and only the user outside, who owns
// them all, may signal a container's processes that run as ids of the
// range.
var userNSCommands = map[string]bool{
	"ctr-lite run": true, "ctr-lite pull": true, "ctr-lite rm": true,
	"ctr-lite gc": true, "ctr-lite fsck": true, "ctr-lite start": true,
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
	if cmd.Name() == "rm" {
		if err := killBeforeRm(cmd); err != nil {
			return &errdefs.ExitError{Code: 1, Err: err}
		}
	}
	p, err := userns.MakePlan()
	if err != nil {
		return &errdefs.ExitError{Code: 125, Err: err}
	}
	if w := p.Warning(); w != "" && (cmd.Name() == "run" || cmd.Name() == "pull") {
		fmt.Fprintln(cmd.ErrOrStderr(), "ctr-lite:", w)
	}
	code, err := userns.Enter(cmd.Context(), p, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
	if errors.Is(err, userns.ErrUnavailable) && cmd.Name() != "run" {
		// Without a namespace the command runs as before: snapshots
		// owned by the caller, no device nodes.
		fmt.Fprintf(cmd.ErrOrStderr(), "ctr-lite: %v; going on without one\n", err)
		return nil
	}
	if err != nil {
		return &errdefs.ExitError{Code: 125, Err: err}
	}
	return &errdefs.ExitError{Code: code}
}

// killBeforeRm does, for rm -f as an ordinary user, the kill rm would do
// from inside its user namespace, where it may not (see userNSCommands):
// each running container named is killed here and waited for.
func killBeforeRm(cmd *cobra.Command) error {
	if f, err := cmd.Flags().GetBool("force"); err != nil || !f {
		return nil
	}
	root, err := cmd.Flags().GetString("root")
	if err != nil {
		return err
	}
	r, err := dataroot.Open(root)
	if err != nil {
		return err
	}
	cs := container.NewStore(r)
	ctx := cmd.Context()
	for _, ref := range cmd.Flags().Args() {
		if err := cs.Kill(ctx, ref, 9); err != nil {
			continue // not running, or not found: rm says so
		}
		if _, err := cs.Wait(ctx, ref); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}
