package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/launch"
	"github.com/ctrlite/ctr-lite/pkg/runner"
)

func init() { register("exec", newExecCmd) }

func newExecCmd(g *globals) *cobra.Command {
	var opts launch.ExecOptions
	cmd := &cobra.Command{
		Use:     "exec [flags] CONTAINER COMMAND [ARG...]",
		GroupID: "containers",
		Short:   "Run a command in a running container",
		Long: `Exec runs a command inside a running container, confined exactly as the
container's own process: it enters the container's mount, PID, UTS, IPC,
network and cgroup namespaces (so it sees the container's files, processes
and host name), joins its cgroup, and gets the same capabilities, seccomp
filter, no_new_privs, AppArmor profile, resource limits, environment, user
and working directory, never more. --privileged is not offered: an exec
has the privileges of its container.

The exit status is the command's (128+N when killed by signal N). 125 means
ctr-lite itself failed (no such container, or it is not running), 126 that
the command cannot be executed, 127 that it was not found.

Containers in a user namespace (rootless) cannot be entered yet.`,
		Example: `  ctr-lite exec web ps
  ctr-lite exec -it web sh
  ctr-lite exec -u nobody -w /tmp -e DEBUG=1 web sh -c 'id; pwd; echo $DEBUG'
  ctr-lite exec -d web sh -c 'sleep 60 > /dev/null'`,
		Args:              cobra.MinimumNArgs(2),
		ValidArgsFunction: firstArg(completeContainers(g, true)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Detach && opts.Terminal {
				return usageError("-t needs this terminal: not with -d")
			}
			cs, err := g.containers()
			if err != nil {
				return &errdefs.ExitError{Code: 125, Err: err}
			}
			opts.Container, opts.Args = args[0], args[1:]
			code, err := launch.Exec(cmd.Context(), cs, opts,
				runner.Stdio{In: cmd.InOrStdin(), Out: cmd.OutOrStdout(), Err: cmd.ErrOrStderr()})
			var xe *errdefs.ExitError
			if errors.As(err, &xe) {
				return xe // 125, 126, 127
			}
			if err != nil {
				return &errdefs.ExitError{Code: 125, Err: err}
			}
			if code != 0 {
				return &errdefs.ExitError{Code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after CONTAINER belong to the command
	f.BoolVarP(&opts.Stdin, "interactive", "i", false, "keep stdin open")
	f.BoolVarP(&opts.Terminal, "tty", "t", false, "allocate a pseudo-terminal")
	f.BoolVarP(&opts.Detach, "detach", "d", false, "run the command in the background and return at once")
	f.StringArrayVarP(&opts.Env, "env", "e", nil, "set `KEY=VALUE` (or KEY, copied from here) over the container's environment")
	f.StringVarP(&opts.User, "user", "u", "", "`user[:group]` (names from the container's /etc/passwd and /etc/group)")
	f.StringVarP(&opts.WorkDir, "workdir", "w", "", "working directory `DIR` inside the container (default: the container's)")
	return cmd
}

// firstArg completes the first argument with complete, and the command
// after it as the shell would.
func firstArg(complete cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return complete(cmd, args, toComplete)
	}
}
