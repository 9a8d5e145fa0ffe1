package main

import "testing"

func TestTargets(t *testing.T) {
	s := func(task, image, tool string, wall float64, rssKB int64) sample {
		return sample{Task: task, Image: image, Tool: tool, Run: 1, Wall: wall, RSSKB: rssKB, OK: true}
	}
	samples := []sample{
		s("pull-unpack", "large", "ctr-lite", 2, 30000),
		s("pull-unpack", "large", "crane-export+tar", 5, 20000),
		s("pull-unpack", "large", "ctr", 4, 20000),
		s("unpack-store", "large", "tar (floor)", 1, 3000),
		s("re-pull", "debian", "ctr-lite", 0.08, 70000),
		s("run", "busybox", "ctr-lite", 0.030, 10000),
		s("run", "busybox", "runc", 0.040, 10000),
		{Task: "run", Image: "busybox", Tool: "crun", Run: 1, Note: "exit 1"},
	}
	got := map[string]target{}
	for _, tg := range targets(summarize(samples), samples) {
		got[tg.Goal] = tg
	}
	tests := []struct{ goal, status string }{
		{"pull+unpack large: at most 0.6x the fastest peer pipeline", "met"}, // 2 s vs ctr 4 s
		{"pull+unpack large: within 1.3x of the tar floor", "missed"},        // 2 s vs 1 s
		{"pull+unpack large-zstd: at most 0.6x the fastest peer pipeline", "n/a"},
		{"re-pull debian: under 50 ms", "missed"},
		{"re-pull large: under 50 ms", "n/a"},
		{"peak RSS of any pull or unpack: below 64 MiB", "missed"}, // the re-pull's 68 MiB
		{"warm run: faster than runc", "met"},
		{"warm run: within 1.5x of crun", "n/a"}, // crun failed
	}
	for _, tt := range tests {
		t.Run(tt.goal, func(t *testing.T) {
			tg, ok := got[tt.goal]
			if !ok {
				t.Fatalf("no target %q", tt.goal)
			}
			if tg.Status != tt.status {
				t.Errorf("status %s (%s), want %s", tg.Status, tg.Value, tt.status)
			}
		})
	}
}
