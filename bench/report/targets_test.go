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

func TestTargets17(t *testing.T) {
	s := func(task, image, tool string, wall float64, rssKB int64) sample {
		return sample{Task: task, Image: image, Tool: tool, Run: 1, Wall: wall, RSSKB: rssKB, OK: true}
	}
	samples := []sample{
		s("unpack-store", "small", "ctr-lite", 6, 40000),
		s("unpack-store", "small", "tar (floor)", 8, 3000), // 0.75x: missed
		s("startup", "version", "ctr-lite", 0.14, 9000),
		s("startup", "version", "hello (floor)", 0.1, 2000), // 1.4x: met
		s("run", "busybox", "ctr-lite", 0.2, 30000),
		s("run", "busybox", "unshare+chroot (floor)", 0.1, 2000), // 2x: met
		s("run", "busybox", "crun", 0.19, 2000),                  // behind crun: missed
		s("re-pull", "large", "ctr-lite", 0.02, 20000),
		s("re-pull", "large", "crane-digest", 0.02, 20000), // equal: met
		s("pull-unpack", "layers127", "ctr-lite", 1, 70000),
		s("run-layers", "layers1", "ctr-lite", 0.1, 30000),
		s("run-layers", "layers127", "ctr-lite", 0.25, 30000), // 2.5x: missed
	}
	got := map[string]target{}
	for _, tg := range targets17(summarize(samples), samples) {
		got[tg.Goal] = tg
	}
	tests := []struct{ goal, status string }{
		{"small files: unpack of 300k small files at most 0.7x the gunzip | tar -x floor", "missed"},
		{"start-up: ctr-lite --version at most 1.5x a static Go hello world", "met"},
		{"warm run --rm busybox true: at most 2.5x the unshare+chroot floor", "met"},
		{"warm run --rm busybox true: ahead of crun", "missed"},
		{"re-pull large: at or under crane digest", "met"},
		{"pull+unpack layers127: at or under crane export | tar", "n/a"}, // no crane run
		{"run of the 127-layer image: within 2x of the 1-layer image", "missed"},
		{"peak RSS pull-unpack layers127: below 64 MiB", "missed"}, // 68 MiB
		{"peak RSS startup version: below 64 MiB", "met"},
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
