package main

import (
	"fmt"
	"strings"
)

// target is one goal from the issues, checked against a run's figures.
type target struct {
	Goal   string `json:"goal"`
	Value  string `json:"value"`
	Status string `json:"status"` // met, missed, n/a
}

// find returns the summary of tool in task/image, or nil.
func find(groups []group, task, image, tool string) *toolSummary {
	for gi := range groups {
		g := &groups[gi]
		if g.Task != task || g.Image != image {
			continue
		}
		for ti := range g.Tools {
			if g.Tools[ti].Tool == tool && g.Tools[ti].Runs > 0 {
				return &g.Tools[ti]
			}
		}
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// targets checks the goals of issues 3-6 that this lab measures.
func targets(groups []group, samples []sample) []target {
	var out []target
	add := func(goal string, value string, ok bool, have bool) {
		t := target{Goal: goal, Value: value, Status: verdict(ok)}
		if !have {
			t.Value, t.Status = "not measured (a side failed or was not run)", "n/a"
		}
		out = append(out, t)
	}
	// Cold pull + unpack of the large image against the peer pipelines and
	// the tar floor (from unpack-store: tar of the stored layers).
	for _, img := range []string{"large", "large-zstd"} {
		c := find(groups, "pull-unpack", img, baseline)
		best, bestTool := 0.0, ""
		for _, peer := range []string{"skopeo+umoci", "ctr", "crane-export+tar"} {
			if p := find(groups, "pull-unpack", img, peer); p != nil && c != nil && (best == 0 || p.WallS < best) {
				best, bestTool = p.WallS, peer
			}
		}
		add(fmt.Sprintf("pull+unpack %s: at most 0.6x the fastest peer pipeline", img),
			fmt.Sprintf("%.2fx (%s vs %s %s)", ratioOf(c, best), durOf(c), bestTool, dur(best)),
			c != nil && best > 0 && c.WallS <= 0.6*best, c != nil && best > 0)
		if snap := find(groups, "pull-unpack", img, "ctr-lite-snapshots"); snap != nil && best > 0 {
			add(fmt.Sprintf("pull+unpack %s into snapshots (what run uses): at most 0.6x the fastest peer pipeline", img),
				fmt.Sprintf("%.2fx (%s vs %s %s)", snap.WallS/best, durOf(snap), bestTool, dur(best)),
				snap.WallS <= 0.6*best, true)
		}
		f := find(groups, "unpack-store", img, "tar (floor)")
		add(fmt.Sprintf("pull+unpack %s: within 1.3x of the tar floor", img),
			fmt.Sprintf("%.2fx (%s vs tar %s)", ratioOf(c, wallOf(f)), durOf(c), durOf(f)),
			c != nil && f != nil && c.WallS <= 1.3*f.WallS, c != nil && f != nil)
	}
	for _, img := range []string{"debian", "large"} {
		c := find(groups, "re-pull", img, baseline)
		add("re-pull "+img+": under 50 ms", durOf(c), c != nil && c.WallS < 0.05, c != nil)
	}
	var peak float64
	var peakAt string
	for _, s := range samples {
		if s.Tool == baseline && s.OK && (strings.HasPrefix(s.Task, "pull") || strings.Contains(s.Task, "unpack") || s.Task == "re-pull") {
			if mb := float64(s.RSSKB) / 1024; mb > peak {
				peak, peakAt = mb, s.Task+" "+s.Image
			}
		}
	}
	add("peak RSS of any pull or unpack: below 64 MiB", fmt.Sprintf("%.1f MiB (%s)", peak, peakAt), peak < 64, peak > 0)
	c, runc, crun := find(groups, "run", "busybox", baseline), find(groups, "run", "busybox", "runc"), find(groups, "run", "busybox", "crun")
	add("warm run: faster than runc", fmt.Sprintf("%s vs %s", durOf(c), durOf(runc)), c != nil && runc != nil && c.WallS < runc.WallS, c != nil && runc != nil)
	add("warm run: within 1.5x of crun", fmt.Sprintf("%.2fx (%s vs %s)", ratioOf(c, wallOf(crun)), durOf(c), durOf(crun)),
		c != nil && crun != nil && c.WallS <= 1.5*crun.WallS, c != nil && crun != nil)
	c, umoci, tar := find(groups, "unpack-store", "debian", baseline), find(groups, "unpack-store", "debian", "umoci"), find(groups, "unpack-store", "debian", "tar (floor)")
	add("unpack debian: faster than umoci", fmt.Sprintf("%s vs %s", durOf(c), durOf(umoci)), c != nil && umoci != nil && c.WallS < umoci.WallS, c != nil && umoci != nil)
	add("unpack debian: within 1.3x of tar", fmt.Sprintf("%.2fx (%s vs %s)", ratioOf(c, wallOf(tar)), durOf(c), durOf(tar)),
		c != nil && tar != nil && c.WallS <= 1.3*tar.WallS, c != nil && tar != nil)
	for _, img := range []string{"debian", "large"} {
		c, r := find(groups, "efficiency", img, baseline), find(groups, "efficiency", img, "refwalk")
		add("inspect efficiency "+img+": faster than the reference walker", fmt.Sprintf("%s vs %s", durOf(c), durOf(r)),
			c != nil && r != nil && c.WallS < r.WallS, c != nil && r != nil)
		if c != nil {
			add("inspect efficiency "+img+": peak RSS below 100 MiB", fmt.Sprintf("%.1f MiB", c.RSSMB), c.RSSMB < 100, true)
		}
	}
	return out
}

func wallOf(t *toolSummary) float64 {
	if t == nil {
		return 0
	}
	return t.WallS
}

func durOf(t *toolSummary) string {
	if t == nil {
		return "n/a"
	}
	return dur(t.WallS)
}

func ratioOf(t *toolSummary, other float64) float64 {
	if t == nil || other <= 0 {
		return 0
	}
	return t.WallS / other
}

func targetsMarkdown(ts []target) string {
	var b strings.Builder
	b.WriteString("## Targets (issues 3-6 and 17)\n\nFrom the medians above (ratios here are ctr-lite / other, medians divided).\n\n")
	b.WriteString("| goal | measured | status |\n|---|---|---|\n")
	for _, t := range ts {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", mdEscape(t.Goal), mdEscape(t.Value), t.Status)
	}
	return b.String() + "\n"
}
