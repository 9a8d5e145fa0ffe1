package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/inspect"
	"github.com/spf13/cobra"
)

func init() { register("check", newCheckCmd) }

// checkFlags are the rule flags; set ones override the --rules file.
type checkFlags struct {
	rulesFile, baseline, junit            string
	maxSize, maxWastedBytes, maxGrowth    string
	maxLayers                             int
	minEfficiency, maxWastedPercent       string
	uncompressed, noRootUser, noNewSetuid bool
	forbid                                []string
}

func newCheckCmd(g *globals) *cobra.Command {
	var (
		f  sourceFlags
		cf checkFlags
	)
	cmd := &cobra.Command{
		Use:     "check [rules] IMAGE",
		GroupID: "inspect",
		Short:   "CI gate: check an image against size, layer, efficiency and content rules",
		Long: `Check evaluates each rule and prints it with the image's value and the limit.
Exit status: 0 when every rule holds, 1 when any rule fails, 2 on a usage
error or when the image cannot be read.

Rules come from flags, from a YAML or JSON file (--rules; flags win), or
both. Sizes take decimal (KB, MB, GB) or binary (KiB, MiB, GiB) units.
--min-efficiency takes a fraction (0.95) or a percentage (95%).`,
		Example: `  ctr-lite check alpine --max-size 50MB --max-layers 5
  ctr-lite check myapp:1.4 --no-root-user --forbid '**/id_rsa' --forbid '**/.env'
  ctr-lite check myapp:1.4 --baseline myapp:1.3 --max-growth 10MB --no-new-setuid
  ctr-lite check myapp:1.4 --rules ci/image-rules.yaml --junit report.xml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeImages(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			rules, err := cf.rules(cmd)
			if err != nil {
				return &errdefs.ExitError{Code: 2, Err: err}
			}
			src, err := f.open(cmd.Context(), g, args[0])
			if err != nil {
				return &errdefs.ExitError{Code: 2, Err: err}
			}
			baseline, err := cf.openBaseline(cmd.Context(), g, &f)
			if err != nil {
				return &errdefs.ExitError{Code: 2, Err: err}
			}
			rep, err := inspect.Check(cmd.Context(), src, baseline, rules)
			if err != nil {
				return &errdefs.ExitError{Code: 2, Err: err}
			}
			rep.Image = src.Image.Name
			if cf.junit != "" {
				if err := writeJUnit(cf.junit, rep); err != nil {
					return &errdefs.ExitError{Code: 2, Err: err}
				}
			}
			if f.asJSON {
				err = inspect.WriteJSON(cmd.OutOrStdout(), rep)
			} else {
				err = inspect.WriteCheckTable(cmd.OutOrStdout(), rep)
			}
			if err != nil {
				return &errdefs.ExitError{Code: 2, Err: err}
			}
			if !rep.Pass {
				return &errdefs.ExitError{Code: 1, Err: fmt.Errorf("%s: %d of %d rules failed", rep.Image, rep.Failed(), len(rep.Results))}
			}
			return nil
		},
	}
	f.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&cf.rulesFile, "rules", "", "read rules from a YAML or JSON `FILE`")
	fl.StringVar(&cf.maxSize, "max-size", "", "largest allowed image `SIZE` (compressed layers, or with --uncompressed the tar bytes)")
	fl.BoolVar(&cf.uncompressed, "uncompressed", false, "measure --max-size and --max-growth uncompressed")
	fl.IntVar(&cf.maxLayers, "max-layers", 0, "most layers allowed")
	fl.StringVar(&cf.minEfficiency, "min-efficiency", "", "lowest efficiency score allowed (0.95 or 95%)")
	fl.StringVar(&cf.maxWastedBytes, "max-wasted-bytes", "", "most wasted `SIZE` allowed")
	fl.StringVar(&cf.maxWastedPercent, "max-wasted-percent", "", "most wasted percent allowed")
	fl.BoolVar(&cf.noRootUser, "no-root-user", false, "fail when the image runs as root")
	fl.StringArrayVar(&cf.forbid, "forbid", nil, "fail when a path matches `GLOB` (repeatable; ** spans directories)")
	fl.BoolVar(&cf.noNewSetuid, "no-new-setuid", false, "fail on setuid/setgid files the --baseline lacks")
	fl.StringVar(&cf.maxGrowth, "max-growth", "", "most `SIZE` the image may grow over --baseline")
	fl.StringVar(&cf.baseline, "baseline", "", "`IMAGE` to compare with for --no-new-setuid and --max-growth")
	fl.StringVar(&cf.junit, "junit", "", "also write a JUnit XML report to `FILE`")
	return cmd
}

// openBaseline opens --baseline with the source flags, or returns a nil
// Source when it is not set.
func (cf *checkFlags) openBaseline(ctx context.Context, g *globals, f *sourceFlags) (inspect.Source, error) {
	if cf.baseline == "" {
		return nil, nil
	}
	src, err := f.open(ctx, g, cf.baseline)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return src, nil
}

// rules merges the --rules file with the rule flags that were set.
func (cf *checkFlags) rules(cmd *cobra.Command) (inspect.Rules, error) {
	var r inspect.Rules
	var err error
	if cf.rulesFile != "" {
		if r, err = inspect.LoadRules(cf.rulesFile); err != nil {
			return r, err
		}
	}
	set := cmd.Flags().Changed
	size := func(flag, v string, dst **inspect.Size) error {
		if !set(flag) {
			return nil
		}
		n, err := inspect.ParseSize(v)
		if err != nil {
			return fmt.Errorf("--%s: %w", flag, err)
		}
		s := inspect.Size(n)
		*dst = &s
		return nil
	}
	for _, e := range []error{
		size("max-size", cf.maxSize, &r.MaxSize),
		size("max-wasted-bytes", cf.maxWastedBytes, &r.MaxWastedBytes),
		size("max-growth", cf.maxGrowth, &r.MaxGrowth),
	} {
		if e != nil {
			return r, e
		}
	}
	if set("max-layers") {
		r.MaxLayers = &cf.maxLayers
	}
	if set("min-efficiency") {
		v, err := fraction(cf.minEfficiency)
		if err != nil {
			return r, fmt.Errorf("--min-efficiency: %w", err)
		}
		r.MinEfficiency = &v
	}
	if set("max-wasted-percent") {
		v, err := strconv.ParseFloat(strings.TrimSuffix(cf.maxWastedPercent, "%"), 64)
		if err != nil {
			return r, fmt.Errorf("--max-wasted-percent %q: want a number", cf.maxWastedPercent)
		}
		r.MaxWastedPercent = &v
	}
	r.Uncompressed = r.Uncompressed || cf.uncompressed
	r.NoRootUser = r.NoRootUser || cf.noRootUser
	r.NoNewSetuid = r.NoNewSetuid || cf.noNewSetuid
	r.Forbid = append(r.Forbid, cf.forbid...)
	if r.Empty() {
		return r, fmt.Errorf("no rules: give rule flags or --rules FILE (see --help)")
	}
	if (r.NoNewSetuid || r.MaxGrowth != nil) && cf.baseline == "" {
		return r, fmt.Errorf("--no-new-setuid and --max-growth need --baseline IMAGE")
	}
	if err := r.Validate(); err != nil {
		return r, err
	}
	return r, nil
}

// fraction parses "0.95" or "95%".
func fraction(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("%q: want a fraction (0.95) or a percentage (95%%)", s)
	}
	if pct {
		v /= 100
	}
	return v, nil
}

func writeJUnit(path string, rep inspect.CheckReport) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if err := inspect.WriteJUnit(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("junit %s: %w", path, err)
	}
	return f.Close()
}
