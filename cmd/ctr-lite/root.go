package main

import (
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/userns"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// globals are the flags every command shares.
type globals struct {
	root      string
	config    string
	debug     bool
	plainHTTP bool
	insecure  []string
}

// newRootCmd builds the whole command tree.
func newRootCmd() *cobra.Command { return newRootCmdFor(nil) }

// newRootCmdFor builds the root command with the subcommands args need
// (see commands).
func newRootCmdFor(args []string) *cobra.Command {
	g := &globals{}
	cmd := &cobra.Command{
		Use:   "ctr-lite",
		Short: "Pull, unpack, inspect and run container images, with no daemon",
		Long: `ctr-lite is one static binary that pulls images from registries into a
local OCI content store, unpacks them into root filesystems, inspects and
checks them, and runs them in namespaces and cgroups. No daemon runs:
every command works on the store directly and many may run at once.`,
		Example: `  ctr-lite pull alpine
  ctr-lite images
  ctr-lite unpack alpine ./rootfs
  ctr-lite inspect layers alpine
  ctr-lite check alpine --max-size 50MB
  ctr-lite run -it --rm alpine sh`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// net/http reports protocol oddities of a misbehaving registry
			// through the log package; they belong to --debug, not to the
			// one-line error a user sees.
			log.SetOutput(io.Discard)
			if g.debug {
				log.SetOutput(cmd.ErrOrStderr())
				os.Setenv("CTRLITE_RUNNER_TRACE", "1")
			}
			return enterUserNS(cmd)
		},
	}
	f := cmd.PersistentFlags()
	f.StringVar(&g.root, "root", defaultRoot(), "store and state directory (env CTRLITE_ROOT)")
	f.StringVar(&g.config, "config", defaultConfig(), "configuration directory: certs.d/<host>/hosts.toml (env CTRLITE_CONFIG)")
	f.BoolVar(&g.debug, "debug", false, "print HTTP protocol warnings and the runner's start-up timings")
	f.BoolVar(&g.plainHTTP, "plain-http", false, "talk plain HTTP to every registry")
	f.StringSliceVar(&g.insecure, "insecure-registry", nil, "registry `HOST` allowed plain HTTP or unverified TLS (repeatable)")
	cmd.SetVersionTemplate("ctr-lite {{.Version}}\n")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%v", err) })

	cmd.AddGroup(&cobra.Group{ID: "images", Title: "Images:"}, &cobra.Group{ID: "containers", Title: "Containers:"},
		&cobra.Group{ID: "inspect", Title: "Inspection:"}, &cobra.Group{ID: "store", Title: "Store and registries:"})
	for _, c := range commands(g, args) {
		cmd.AddCommand(c)
	}
	usageArgs(cmd)
	return cmd
}

// usageArgs makes every argument error of c and its subcommands a usage
// error (exit status 2), by type rather than by cobra's wording. A command
// that only groups subcommands prints its help when called alone and
// refuses anything else: "inspect IMAGE" names no subcommand.
func usageArgs(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				hint := ""
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					hint = "; did you mean " + strings.Join(s, " or ") + "?"
				}
				return usageError("unknown command %q for %q%s", args[0], cmd.CommandPath(), hint)
			}
			return cmd.Help()
		}
	} else if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError("%v", err)
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// commandSet lists every subcommand with its name and aliases; each file
// adds its constructor here.
var commandSet []command

type command struct {
	names []string
	mk    func(*globals) *cobra.Command
}

// register adds a subcommand; names is its name and aliases, space
// separated, as its constructor sets them (TestRegisteredNames checks).
func register(names string, mk func(*globals) *cobra.Command) {
	commandSet = append(commandSet, command{strings.Fields(names), mk})
}

// commands builds the subcommands args need. Every process pays for
// building a command and its flags, so when args name a subcommand (and
// ask for no help or completion of the root) only that one is built, and
// none for a bare --version. Help, completion, suggestions for a typo and
// anything unsure get them all.
func commands(g *globals, args []string) []*cobra.Command {
	name, ok := subcommand(args)
	var out []*cobra.Command
	for _, c := range commandSet {
		if !ok || slices.Contains(c.names, name) {
			out = append(out, c.mk(g))
		}
	}
	if ok && name != "" && len(out) == 0 {
		// An unknown command: build them all for cobra's suggestions.
		return commands(g, nil)
	}
	return out
}

// subcommand finds the subcommand args name, as cobra does: the first
// argument that is not a flag or a root flag's value. It returns "", true
// for a lone --version, and false when the whole tree is needed.
func subcommand(args []string) (string, bool) {
	version := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return "", false
		case a == "--version" || a == "-v":
			version = true
		case a == "--root" || a == "--config" || a == "--insecure-registry":
			i++ // its value follows
		case strings.HasPrefix(a, "-"):
			if a == "-h" || a == "--help" || !strings.HasPrefix(a, "--") && strings.Contains(a, "h") {
				return "", false // the root's help lists every command
			}
		default:
			if a == "help" || a == "completion" || strings.HasPrefix(a, "__") {
				return "", false
			}
			return a, true
		}
	}
	return "", version
}

func defaultRoot() string {
	if v := os.Getenv("CTRLITE_ROOT"); v != "" {
		return v
	}
	if os.Geteuid() == 0 && userns.Inside() == "" {
		return "/var/lib/ctr-lite"
	}
	return filepath.Join(xdg("XDG_DATA_HOME", ".local/share"), "ctr-lite")
}

func defaultConfig() string {
	if v := os.Getenv("CTRLITE_CONFIG"); v != "" {
		return v
	}
	if os.Geteuid() == 0 && userns.Inside() == "" {
		return "/etc/ctr-lite"
	}
	return filepath.Join(xdg("XDG_CONFIG_HOME", ".config"), "ctr-lite")
}

func xdg(env, fallback string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, fallback)
}
