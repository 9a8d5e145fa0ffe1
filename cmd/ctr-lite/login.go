package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ctrlite/ctr-lite/registry"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() { register("login", newLoginCmd); register("logout", newLogoutCmd) }

func newLoginCmd(g *globals) *cobra.Command {
	var user string
	var stdinPass bool
	cmd := &cobra.Command{
		Use:     "login [-u USER] [--password-stdin] REGISTRY",
		GroupID: "store",
		Short:   "Check credentials against a registry and save them in docker's config.json",
		Long: `Login verifies the credentials with the registry, then writes them to
docker's config.json ($DOCKER_CONFIG/config.json, else ~/.docker/config.json),
where docker, podman, crane and ctr-lite all find them.`,
		Example: `  ctr-lite login -u alice ghcr.io
  echo "$TOKEN" | ctr-lite login -u ci --password-stdin registry.example.com:5000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := cmd.InOrStdin()
			if user == "" {
				if stdinPass {
					return usageError("--password-stdin needs --username")
				}
				fmt.Fprint(cmd.ErrOrStderr(), "Username: ")
				line, err := bufio.NewReader(in).ReadString('\n')
				if err != nil && err != io.EOF {
					return err
				}
				user = strings.TrimSpace(line)
			}
			pass, err := readPassword(cmd, in, stdinPass)
			if err != nil {
				return err
			}
			if err := registry.Login(cmd.Context(), g.registryOptions(), args[0], user, pass); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Login Succeeded")
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "user name")
	cmd.Flags().BoolVar(&stdinPass, "password-stdin", false, "read the password from standard input")
	return cmd
}

// readPassword reads a password from stdin (whole input, trailing newline
// dropped) or prompts on the terminal without echo.
func readPassword(cmd *cobra.Command, in io.Reader, fromStdin bool) (string, error) {
	if !fromStdin {
		if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(cmd.ErrOrStderr())
			return string(b), err
		}
	}
	b, err := io.ReadAll(io.LimitReader(in, 1<<16))
	if err != nil {
		return "", err
	}
	pass := strings.TrimRight(string(b), "\r\n")
	if pass == "" {
		return "", usageError("empty password")
	}
	return pass, nil
}

func newLogoutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "logout REGISTRY",
		GroupID: "store",
		Short:   "Remove saved credentials for a registry",
		Example: `  ctr-lite logout ghcr.io`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := registry.Logout(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed login credentials for %s\n", args[0])
			return nil
		},
	}
}
