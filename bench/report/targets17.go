package main

import (
	"fmt"
	"sort"
)

// targets17 checks the goals of issue 17 (speed at the edges): each is
// ctr-lite's median against a peer or floor measured in the same run.
func targets17(groups []group, samples []sample) []target {
	var out []target
	add := func(goal string, c, other *toolSummary, otherName string, bound float64) {
		t := target{Goal: goal}
		if c == nil || other == nil || other.WallS <= 0 {
			t.Value, t.Status = "not measured (a side failed or was not run)", "n/a"
		} else {
			r := c.WallS / other.WallS
			t.Value = fmt.Sprintf("%.2fx (%s vs %s %s)", r, dur(c.WallS), otherName, dur(other.WallS))
			t.Status = verdict(r <= bound)
		}
		out = append(out, t)
	}
	add("small files: unpack of 300k small files at most 0.7x the gunzip | tar -x floor",
		find(groups, "unpack-store", "small", baseline), find(groups, "unpack-store", "small", "tar (floor)"), "floor", 0.7)
	add("start-up: ctr-lite --version at most 1.5x a static Go hello world",
		find(groups, "startup", "version", baseline), find(groups, "startup", "version", "hello (floor)"), "hello", 1.5)
	run := find(groups, "run", "busybox", baseline)
	add("warm run --rm busybox true: at most 2.5x the unshare+chroot floor",
		run, find(groups, "run", "busybox", "unshare+chroot (floor)"), "floor", 2.5)
	add("warm run --rm busybox true: ahead of crun", run, find(groups, "run", "busybox", "crun"), "crun", 1)
	for _, img := range []string{"large", "layers127", "debian"} {
		add("re-pull "+img+": at or under crane digest",
			find(groups, "re-pull", img, baseline), find(groups, "re-pull", img, "crane-digest"), "crane digest", 1)
	}
	for _, img := range []string{"layers100", "layers127"} {
		add("pull+unpack "+img+": at or under crane export | tar",
			find(groups, "pull-unpack", img, baseline), find(groups, "pull-unpack", img, "crane-export+tar"), "crane", 1)
	}
	add("run of the 127-layer image: within 2x of the 1-layer image",
		find(groups, "run-layers", "layers127", baseline), find(groups, "run-layers", "layers1", baseline), "1 layer", 2)
	add("zstd pull+unpack (large-zstd): at or under zstd -d | tar -x",
		find(groups, "pull-unpack", "large-zstd", baseline), find(groups, "unpack-store", "large-zstd", "tar (floor)"), "floor", 1)
	// Peak RSS of ctr-lite in each task and image: below 64 MiB.
	type key struct{ task, image string }
	peak := map[key]int64{}
	for _, s := range samples {
		if s.Tool == baseline && s.OK {
			k := key{s.Task, s.Image}
			peak[k] = max(peak[k], s.RSSKB)
		}
	}
	keys := make([]key, 0, len(peak))
	for k := range peak {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].task < keys[j].task || keys[i].task == keys[j].task && keys[i].image < keys[j].image
	})
	for _, k := range keys {
		mb := float64(peak[k]) / 1024
		out = append(out, target{Goal: fmt.Sprintf("peak RSS %s %s: below 64 MiB", k.task, k.image),
			Value: fmt.Sprintf("%.1f MiB", mb), Status: verdict(mb < 64)})
	}
	return out
}
