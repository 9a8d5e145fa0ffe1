package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummarizePairsRatiosByRun(t *testing.T) {
	ok := func(tool string, run int, wall, cpu float64, rss int64) sample {
		return sample{Task: "pull", Image: "img", Tool: tool, Run: run, Wall: wall, User: cpu, RSSKB: rss, OK: true}
	}
	tests := []struct {
		name      string
		samples   []sample
		tool      string
		wantWall  float64 // median wall of tool
		wantRatio float64 // median of per-run ratios to ctr-lite
		wantPairs int
	}{
		{
			name: "ratios are taken run by run, then the median",
			samples: []sample{
				ok("ctr-lite", 1, 1, 1, 1000), ok("peer", 1, 2, 1, 2000),
				ok("ctr-lite", 2, 4, 1, 1000), ok("peer", 2, 4, 1, 2000),
				ok("ctr-lite", 3, 1, 1, 1000), ok("peer", 3, 3, 1, 2000),
			},
			tool: "peer", wantWall: 3, wantRatio: 2, wantPairs: 3,
		},
		{
			name: "a run where ctr-lite failed makes no pair",
			samples: []sample{
				ok("ctr-lite", 1, 1, 1, 1000), ok("peer", 1, 2, 1, 1000),
				{Task: "pull", Image: "img", Tool: "ctr-lite", Run: 2, Note: "exit 1: boom"}, ok("peer", 2, 10, 1, 1000),
			},
			tool: "peer", wantWall: 6, wantRatio: 2, wantPairs: 1,
		},
		{
			name: "failed peer runs are left out of its medians",
			samples: []sample{
				ok("ctr-lite", 1, 2, 1, 1000), ok("peer", 1, 1, 1, 1000),
				{Task: "pull", Image: "img", Tool: "peer", Run: 2, Note: "exit 1: boom"}, ok("ctr-lite", 2, 2, 1, 1000),
			},
			tool: "peer", wantWall: 1, wantRatio: 0.5, wantPairs: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groups := summarize(tt.samples)
			if len(groups) != 1 {
				t.Fatalf("groups = %d, want 1", len(groups))
			}
			if groups[0].Tools[0].Tool != baseline {
				t.Errorf("first tool = %q, want %q", groups[0].Tools[0].Tool, baseline)
			}
			var got *toolSummary
			for i := range groups[0].Tools {
				if groups[0].Tools[i].Tool == tt.tool {
					got = &groups[0].Tools[i]
				}
			}
			if got == nil {
				t.Fatalf("no summary for %s", tt.tool)
			}
			if got.WallS != tt.wantWall || math.Abs(got.WallRatio-tt.wantRatio) > 1e-9 || got.Pairs != tt.wantPairs {
				t.Errorf("wall %v ratio %v pairs %d, want %v %v %d", got.WallS, got.WallRatio, got.Pairs, tt.wantWall, tt.wantRatio, tt.wantPairs)
			}
		})
	}
}

func TestFailedToolShowsError(t *testing.T) {
	groups := summarize([]sample{
		{Task: "run", Image: "busybox", Tool: "ctr-lite", Run: 1, Note: `exit 2: unknown command "run"`},
		{Task: "run", Image: "busybox", Tool: "runc", Run: 1, Wall: 0.05, OK: true},
	})
	md := markdown(groups, "")
	if !strings.Contains(md, `| ctr-lite | 0/1 | n/a (error: exit 2: unknown command "run")`) {
		t.Errorf("markdown lacks the n/a row:\n%s", md)
	}
	if s := svg(groups); !strings.Contains(s, ">n/a<") || !strings.HasPrefix(s, "<svg") {
		t.Errorf("svg lacks the n/a bar")
	}
}

func TestReadTSV(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "r.tsv")
	data := "# header\npull\tdebian\tskopeo\t2\t0.5\t0.1\t0.2\t20480\t0\tok\t\n" +
		"pull\tdebian\tctr\t2\t0.7\t0.1\t0.2\t20480\t51200\terror\texit 1: x\n"
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readTSV(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Run != 2 || got[0].Wall != 0.5 || !got[0].OK || got[1].OK || got[1].ExtraKB != 51200 || got[1].Note != "exit 1: x" {
		t.Errorf("readTSV = %+v", got)
	}
}
