package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

// TestRegisteredNames: the names a command is registered under are the
// name and aliases its constructor gives it, so a partial tree finds it.
func TestRegisteredNames(t *testing.T) {
	g := &globals{}
	for _, c := range commandSet {
		cmd := c.mk(g)
		want := append([]string{cmd.Name()}, cmd.Aliases...)
		if !slices.Equal(c.names, want) {
			t.Errorf("registered as %q, the command says %q", c.names, want)
		}
	}
}

// TestPartialTreeSameOutput: a command line run with only the subcommands
// it needs prints and exits as with the whole tree. Only lines that run
// nothing (help, usage errors, completion of names, --version).
func TestPartialTreeSameOutput(t *testing.T) {
	dir := t.TempDir()
	base := []string{"--root", dir + "/root", "--config", dir}
	lines := [][]string{
		{"--version"}, {"-v"}, {}, {"--help"}, {"-h"}, {"--version", "--help"}, {"help"}, {"help", "pull"},
		{"pul"}, {"inspect", "bogus"}, {"inspect", "layers", "--help"}, {"ls", "--help"},
		{"completion", "bash"}, {"__complete", "pu"}, {"__complete", "run", "--pl"}, {"--", "pull"},
		{"--version", "pull"}, {"--debug", "tag", "--help"}, {"--insecure-registry", "pull", "images", "-h"},
	}
	for _, c := range commandSet {
		for _, n := range c.names {
			lines = append(lines, []string{n, "--help"}, []string{n, "--no-such-flag"})
		}
	}
	run := func(full bool, args []string) string {
		var out, errb bytes.Buffer
		var code int
		if full {
			code = executeCmd(context.Background(), newRootCmd(), args, strings.NewReader(""), &out, &errb)
		} else {
			code = execute(context.Background(), args, strings.NewReader(""), &out, &errb)
		}
		return out.String() + "\x00" + errb.String() + "\x00" + string(rune('0'+code))
	}
	var cases [][]string
	for _, l := range lines {
		cases = append(cases, append(slices.Clone(base), l...))
	}
	// execute answers a lone version flag itself.
	cases = append(cases, []string{"--version"}, []string{"-v"})
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			full, part := run(true, args), run(false, args)
			if full != part {
				t.Errorf("whole tree:\n%s\npartial tree:\n%s", full, part)
			}
		})
	}
}
