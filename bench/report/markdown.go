package main

import (
	"fmt"
	"strings"
)

func markdown(groups []group, env string) string {
	var b strings.Builder
	b.WriteString("# ctr-lite benchmark results\n\n")
	if env != "" {
		b.WriteString("```\n" + strings.TrimSpace(env) + "\n```\n\n")
	}
	b.WriteString("Medians over the timed runs. CPU is user+sys. Ratios are peer / ctr-lite, " +
		"computed for each run number from the two commands of that same run (tools alternate within a run), " +
		"then the median of those per-run ratios is shown: above 1 means ctr-lite is faster / smaller. " +
		"CPU ratios leave out runs where ctr-lite used under 50 ms of CPU (GNU time counts in 10 ms steps); – means none was left.\n\n")
	task := ""
	for _, g := range groups {
		if g.Task != task {
			task = g.Task
			fmt.Fprintf(&b, "## %s\n\n", task)
		}
		fmt.Fprintf(&b, "### %s: %s\n\n", g.Task, g.Image)
		b.WriteString("| tool | runs | median wall | median CPU | median peak RSS | wall ratio | CPU ratio | RSS ratio |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, t := range g.Tools {
			if t.Runs == 0 {
				fmt.Fprintf(&b, "| %s | 0/%d | n/a (error: %s) | | | | | |\n", t.Tool, t.Failed, mdEscape(t.Error))
				continue
			}
			rss := fmt.Sprintf("%.1f MiB", t.RSSMB)
			if t.DaemonMB > 0 {
				rss += fmt.Sprintf(" + %.0f MiB daemon", t.DaemonMB)
			}
			runs := fmt.Sprint(t.Runs)
			if t.Failed > 0 {
				runs = fmt.Sprintf("%d (+%d failed)", t.Runs, t.Failed)
			}
			wr, cr, rr := "", "", ""
			if t.Pairs > 0 {
				wr, cr, rr = fmt.Sprintf("%.2f×", t.WallRatio), "–", fmt.Sprintf("%.2f×", t.RSSRatio)
				if t.CPURatio > 0 {
					cr = fmt.Sprintf("%.2f×", t.CPURatio)
				}
			} else if t.Tool == baseline {
				wr, cr, rr = "1", "1", "1"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", t.Tool, runs, dur(t.WallS), dur(t.CPUS), rss, wr, cr, rr)
		}
		for _, t := range g.Tools {
			if t.Runs > 0 && t.Note != "" {
				fmt.Fprintf(&b, "\n%s: %s\n", t.Tool, mdEscape(t.Note))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("Chart: results.svg (median wall time per task and tool).\n\n")
	return b.String()
}

func dur(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.2f s", s)
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
