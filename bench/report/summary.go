package main

import "sort"

// toolSummary is one tool's medians for one task and image.
type toolSummary struct {
	Tool      string  `json:"tool"`
	Runs      int     `json:"runs"`   // successful timed runs
	Failed    int     `json:"failed"` // runs that exited non-zero
	WallS     float64 `json:"median_wall_s"`
	CPUS      float64 `json:"median_cpu_s"` // user + sys
	RSSMB     float64 `json:"median_peak_rss_mb"`
	DaemonMB  float64 `json:"median_daemon_peak_rss_mb,omitempty"`
	WallRatio float64 `json:"wall_ratio_to_ctr_lite,omitempty"` // median over runs of peer/ctr-lite
	CPURatio  float64 `json:"cpu_ratio_to_ctr_lite,omitempty"`  // only runs where ctr-lite used >= 50 ms
	RSSRatio  float64 `json:"rss_ratio_to_ctr_lite,omitempty"`
	Pairs     int     `json:"pairs,omitempty"` // runs where both succeeded
	Error     string  `json:"error,omitempty"` // last error when no run succeeded
	Note      string  `json:"note,omitempty"`
}

// group is one task on one image.
type group struct {
	Task  string        `json:"task"`
	Image string        `json:"image"`
	Tools []toolSummary `json:"tools"`
}

func summarize(samples []sample) []group {
	type key struct{ task, image string }
	var order []key
	byKey := map[key][]sample{}
	for _, s := range samples {
		k := key{s.Task, s.Image}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], s)
	}
	var out []group
	for _, k := range order {
		out = append(out, summarizeGroup(k.task, k.image, byKey[k]))
	}
	return out
}

func summarizeGroup(task, image string, ss []sample) group {
	g := group{Task: task, Image: image}
	var tools []string
	byTool := map[string][]sample{}
	for _, s := range ss {
		if _, ok := byTool[s.Tool]; !ok {
			tools = append(tools, s.Tool)
		}
		byTool[s.Tool] = append(byTool[s.Tool], s)
	}
	sort.SliceStable(tools, func(i, j int) bool { return tools[i] == baseline && tools[j] != baseline })
	// The baseline's successful samples by run number, for the pairs.
	base := map[int]sample{}
	for _, s := range byTool[baseline] {
		if s.OK {
			base[s.Run] = s
		}
	}
	for _, t := range tools {
		ts := toolSummary{Tool: t}
		var wall, cpu, rss, daemon, rw, rc, rr []float64
		for _, s := range byTool[t] {
			if s.Note != "" {
				ts.Note = s.Note
			}
			if !s.OK {
				ts.Failed++
				ts.Error = s.Note
				continue
			}
			ts.Runs++
			wall = append(wall, s.Wall)
			cpu = append(cpu, s.User+s.Sys)
			rss = append(rss, float64(s.RSSKB)/1024)
			if s.ExtraKB > 0 {
				daemon = append(daemon, float64(s.ExtraKB)/1024)
			}
			if b, ok := base[s.Run]; ok && t != baseline {
				rw = append(rw, s.Wall/b.Wall)
				// GNU time counts CPU in 10 ms steps: a ratio to less
				// than 50 ms would be mostly rounding.
				if bc := b.User + b.Sys; bc >= 0.05 {
					rc = append(rc, (s.User+s.Sys)/bc)
				}
				if b.RSSKB > 0 {
					rr = append(rr, float64(s.RSSKB)/float64(b.RSSKB))
				}
			}
		}
		if ts.Runs > 0 {
			ts.Error = ""
		} else {
			ts.Note = ""
		}
		ts.WallS, ts.CPUS, ts.RSSMB, ts.DaemonMB = median(wall), median(cpu), median(rss), median(daemon)
		ts.WallRatio, ts.CPURatio, ts.RSSRatio, ts.Pairs = median(rw), median(rc), median(rr), len(rw)
		g.Tools = append(g.Tools, ts)
	}
	return g
}
