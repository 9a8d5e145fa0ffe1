package inspect

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/units"
)

// CheckResult is one rule's verdict.
type CheckResult struct {
	// Rule is the rule's field name in Rules ("max_size", "forbid", ...).
	Rule string `json:"rule"`
	// Value is what the image has and Limit what the rule allows: bytes
	// and counts as int64, fractions and percentages as float64 (JSON
	// numbers both), a user name and "not root" for no_root_user, and
	// for forbid the number of matching paths and the glob.
	Value   any    `json:"value"`
	Limit   any    `json:"limit"`
	Pass    bool   `json:"pass"`
	Message string `json:"message"`
}

// CheckReport is `check`.
type CheckReport struct {
	// Image names the image; Check sets the manifest digest, the CLI may
	// set the reference instead.
	Image   string        `json:"image"`
	Pass    bool          `json:"pass"`
	Results []CheckResult `json:"results"`
}

// Failed counts the failed rules.
func (r CheckReport) Failed() int {
	n := 0
	for _, res := range r.Results {
		if !res.Pass {
			n++
		}
	}
	return n
}

// imageFacts is what the rules look at, computed once.
type imageFacts struct {
	compressed   int64
	uncompressed int64
	layers       int
	eff          EfficiencyReport
	tree         *tree
}

func gatherFacts(ctx context.Context, src Source, scan bool) (*imageFacts, error) {
	f := &imageFacts{layers: len(src.Manifest().Layers)}
	for _, l := range src.Manifest().Layers {
		f.compressed += l.Size
	}
	if !scan {
		return f, nil
	}
	scans, err := scanAll(ctx, src)
	if err != nil {
		return nil, err
	}
	for _, s := range scans {
		f.uncompressed += s.uncompressed
	}
	f.eff, f.tree = efficiency(scans)
	return f, nil
}

func (f *imageFacts) size(uncompressed bool) int64 {
	if uncompressed {
		return f.uncompressed
	}
	return f.compressed
}

// Check evaluates every set rule against src (and baseline, for the rules
// that need one; baseline may be nil otherwise). Layer streams are read
// only when a rule needs file contents or uncompressed sizes.
func Check(ctx context.Context, src, baseline Source, rules Rules) (CheckReport, error) {
	if err := rules.Validate(); err != nil {
		return CheckReport{}, fmt.Errorf("check: %w", err)
	}
	if rules.NeedsBaseline() && baseline == nil {
		return CheckReport{}, fmt.Errorf("check: no_new_setuid and max_growth: %w", ErrNoBaseline)
	}
	needTree := rules.MinEfficiency != nil || rules.MaxWastedBytes != nil || rules.MaxWastedPercent != nil ||
		len(rules.Forbid) > 0 || rules.NoNewSetuid
	sizeScan := rules.Uncompressed && (rules.MaxSize != nil || rules.MaxGrowth != nil)
	facts, err := gatherFacts(ctx, src, needTree || sizeScan)
	if err != nil {
		return CheckReport{}, fmt.Errorf("check: %w", err)
	}
	var base *imageFacts
	if rules.NeedsBaseline() {
		if base, err = gatherFacts(ctx, baseline, rules.NoNewSetuid || (rules.MaxGrowth != nil && rules.Uncompressed)); err != nil {
			return CheckReport{}, fmt.Errorf("check: baseline: %w", err)
		}
	}
	rep := CheckReport{Image: src.ManifestDigest().String(), Results: []CheckResult{}}
	add := func(r CheckResult) { rep.Results = append(rep.Results, r) }
	kind := "compressed"
	if rules.Uncompressed {
		kind = "uncompressed"
	}

	if rules.MaxSize != nil {
		v, lim := facts.size(rules.Uncompressed), int64(*rules.MaxSize)
		add(CheckResult{Rule: "max_size", Value: v, Limit: lim, Pass: v <= lim,
			Message: fmt.Sprintf("%s size %s, limit %s", kind, units.HumanSize(v), units.HumanSize(lim))})
	}
	if rules.MaxLayers != nil {
		v, lim := facts.layers, *rules.MaxLayers
		add(CheckResult{Rule: "max_layers", Value: int64(v), Limit: int64(lim), Pass: v <= lim,
			Message: fmt.Sprintf("%d layers, limit %d", v, lim)})
	}
	if rules.MinEfficiency != nil {
		v, lim := facts.eff.Efficiency, *rules.MinEfficiency
		add(CheckResult{Rule: "min_efficiency", Value: v, Limit: lim, Pass: v >= lim,
			Message: fmt.Sprintf("efficiency %.2f %%, minimum %.2f %%", 100*v, 100*lim)})
	}
	if rules.MaxWastedBytes != nil {
		v, lim := facts.eff.WastedBytes, int64(*rules.MaxWastedBytes)
		add(CheckResult{Rule: "max_wasted_bytes", Value: v, Limit: lim, Pass: v <= lim,
			Message: fmt.Sprintf("wasted %s, limit %s", units.HumanSize(v), units.HumanSize(lim))})
	}
	if rules.MaxWastedPercent != nil {
		v, lim := facts.eff.WastedPercent, *rules.MaxWastedPercent
		pass, msg := v <= lim, fmt.Sprintf("wasted %.2f %% of the bytes above the first layer, limit %.2f %%", v, lim)
		if facts.eff.UserBytes == 0 && facts.eff.WastedBytes > 0 {
			// dive divides by zero: +Inf %, which fails every threshold.
			pass, msg = false, fmt.Sprintf("wasted %s with no bytes above the first layer (dive: +Inf %%), limit %.2f %%",
				units.HumanSize(facts.eff.WastedBytes), lim)
		}
		add(CheckResult{Rule: "max_wasted_percent", Value: v, Limit: lim, Pass: pass, Message: msg})
	}
	if rules.NoRootUser {
		u := src.Config().Config.User
		root := isRootUser(u)
		shown := u
		if shown == "" {
			shown = "(unset: root)"
		}
		msg := "runs as " + shown
		if root {
			msg += "; set USER to a non-root user"
		}
		add(CheckResult{Rule: "no_root_user", Value: u, Limit: "not root", Pass: !root, Message: msg})
	}
	for _, pattern := range rules.Forbid {
		g, _ := CompileGlob(pattern) // validated above
		var hits []string
		facts.tree.walk(func(e *Entry) {
			if g.Match(e.Path) {
				hits = append(hits, e.Path)
			}
		})
		msg := "no path matches"
		if len(hits) > 0 {
			msg = fmt.Sprintf("%d path(s) match: %s", len(hits), listSome(hits, 10))
		}
		add(CheckResult{Rule: "forbid", Value: int64(len(hits)), Limit: pattern, Pass: len(hits) == 0, Message: msg})
	}
	if rules.NoNewSetuid {
		had := map[string]bool{}
		base.tree.walk(func(e *Entry) {
			if e.Setuid() {
				had[e.Path] = true
			}
		})
		var added []string
		facts.tree.walk(func(e *Entry) {
			if e.Setuid() && !had[e.Path] {
				added = append(added, e.Path+" ("+e.Mode+")")
			}
		})
		sort.Strings(added)
		msg := "no setuid or setgid file beyond the baseline's"
		if len(added) > 0 {
			msg = fmt.Sprintf("%d new setuid/setgid files: %s", len(added), listSome(added, 10))
		}
		add(CheckResult{Rule: "no_new_setuid", Value: int64(len(added)), Limit: int64(0), Pass: len(added) == 0, Message: msg})
	}
	if rules.MaxGrowth != nil {
		v, lim := facts.size(rules.Uncompressed)-base.size(rules.Uncompressed), int64(*rules.MaxGrowth)
		add(CheckResult{Rule: "max_growth", Value: v, Limit: lim, Pass: v <= lim,
			Message: fmt.Sprintf("%s size grew by %s over the baseline, limit %s", kind, units.HumanSize(v), units.HumanSize(lim))})
	}
	rep.Pass = rep.Failed() == 0
	return rep, nil
}

// isRootUser reports whether a config User runs as root: empty, "0",
// "root", or one of those followed by ":group".
func isRootUser(u string) bool {
	name, _, _ := strings.Cut(strings.TrimSpace(u), ":")
	return name == "" || name == "root" || strings.TrimLeft(name, "0") == "" // "0", "00"
}

// show prints a Value or Limit in the table and JUnit: fractions and
// percentages with four decimals.
func show(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', 4, 64)
	}
	return fmt.Sprint(v)
}

func listSome(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(", ... (%d more)", len(s)-n)
}

// WriteCheckTable prints each rule with its value, limit and verdict,
// then PASS or FAIL.
func WriteCheckTable(w io.Writer, rep CheckReport) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "RESULT\tRULE\tVALUE\tLIMIT\tMESSAGE")
	for _, r := range rep.Results {
		res := "pass"
		if !r.Pass {
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", res, r.Rule, show(r.Value), show(r.Limit), r.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "PASS"
	if !rep.Pass {
		verdict = "FAIL"
	}
	_, err := fmt.Fprintf(w, "%s: %d rules, %d failed\n", verdict, len(rep.Results), rep.Failed())
	return err
}
