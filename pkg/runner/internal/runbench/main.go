// Command runbench runs an OCI bundle (as written by runner.WriteBundle)
// with the built-in runner, for measuring warm start-up against
// `runc run -b DIR ID` on the same bundle:
//
//	runbench DIR ID
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/runner"
)

func main() {
	runner.Init()
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: runbench BUNDLE ID")
		os.Exit(2)
	}
	dir, id := os.Args[1], os.Args[2]
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(125)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(125)
	}
	if !filepath.IsAbs(s.Root.Path) {
		s.Root.Path, _ = filepath.Abs(filepath.Join(dir, s.Root.Path))
	}
	code, err := runner.Run(context.Background(), runner.Config{ID: id, Spec: &s},
		runner.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "runbench:", err)
		var ee *errdefs.ExitError
		if errors.As(err, &ee) {
			code = ee.Code
		}
	}
	os.Exit(code)
}
