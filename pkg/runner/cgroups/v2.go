package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// createV2 makes the cgroup in the unified hierarchy, enables the
// controllers its limits need and writes them.
func (c *Cgroup) createV2(res *specs.LinuxResources) error {
	dir := filepath.Join(unifiedRoot, c.path)
	if err := mkdirAll(unifiedRoot, dir, nil); err != nil {
		return err
	}
	c.dirs = []string{dir}
	c.memDir = dir
	var sets []setting
	if m := res.Memory; m != nil {
		swap := m.Swap
		if swap != nil && m.Limit != nil {
			// v1's memsw counts memory+swap; v2's swap.max swap alone.
			s := *swap - *m.Limit
			swap = &s
		}
		sets = append(sets,
			setting{"memory", "memory.max", m.Limit},
			setting{"memory", "memory.swap.max", swap},
			setting{"memory", "memory.low", m.Reservation})
	}
	if cpu := res.CPU; cpu != nil {
		if cpu.Shares != nil && *cpu.Shares != 0 {
			sets = append(sets, setting{"cpu", "cpu.weight", strconv.FormatUint(sharesToWeight(*cpu.Shares), 10)})
		}
		if cpu.Period != nil {
			quota := "max"
			if cpu.Quota != nil && *cpu.Quota > 0 {
				quota = strconv.FormatInt(*cpu.Quota, 10)
			}
			sets = append(sets, setting{"cpu", "cpu.max", quota + " " + strconv.FormatUint(*cpu.Period, 10)})
		}
		sets = append(sets,
			setting{"cpuset", "cpuset.cpus", cpu.Cpus},
			setting{"cpuset", "cpuset.mems", cpu.Mems})
	}
	if p := res.Pids; p != nil {
		sets = append(sets, setting{"pids", "pids.max", pidsMax(p.Limit)})
	}
	var ctrls []string
	for _, s := range sets {
		if _, ok := s.value(); ok && !slices.Contains(ctrls, s.ctrl) {
			ctrls = append(ctrls, s.ctrl)
		}
	}
	if err := enableControllers(dir, ctrls); err != nil {
		return err
	}
	for _, s := range sets {
		if val, ok := s.value(); ok {
			if err := write(dir, s.file, val); err != nil {
				return err
			}
		}
	}
	if len(res.Devices) > 0 {
		return attachDeviceFilter(dir, res.Devices)
	}
	return nil
}

// enableControllers writes "+ctrl ..." to cgroup.subtree_control of every
// ancestor of dir, from the root down, so dir has those controllers.
func enableControllers(dir string, ctrls []string) error {
	if len(ctrls) == 0 {
		return nil
	}
	var plus []string
	for _, c := range ctrls {
		plus = append(plus, "+"+c)
	}
	val := strings.Join(plus, " ")
	var parents []string
	for p := filepath.Dir(dir); strings.HasPrefix(p, unifiedRoot); p = filepath.Dir(p) {
		parents = append([]string{p}, parents...)
	}
	for _, cur := range parents {
		if have, err := os.ReadFile(filepath.Join(cur, "cgroup.subtree_control")); err == nil && allIn(ctrls, string(have)) {
			continue // already enabled (and, above a delegated subtree, not ours to write)
		}
		if err := write(cur, "cgroup.subtree_control", val); err != nil {
			if have, _ := os.ReadFile(filepath.Join(cur, "cgroup.controllers")); !allIn(ctrls, string(have)) {
				return fmt.Errorf("controllers %v not available in %s: %w", ctrls, cur, err)
			}
			return err
		}
	}
	return nil
}

func allIn(ctrls []string, list string) bool {
	have := strings.Fields(list)
	for _, c := range ctrls {
		if !slices.Contains(have, c) {
			return false
		}
	}
	return true
}

// sharesToWeight maps v1 cpu.shares [2, 262144] onto v2 cpu.weight
// [1, 10000], the conversion runc and containerd use.
func sharesToWeight(shares uint64) uint64 {
	shares = min(max(shares, 2), 262144)
	return 1 + (shares-2)*9999/262142
}
