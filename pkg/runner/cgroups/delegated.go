package cgroups

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Delegated finds, for a process without privilege on a unified (v2)
// host, the cgroup subtree systemd delegated to the caller: the
// user@UID.service ancestor of its own cgroup, writable by it, whose
// cgroup.subtree_control has every controller in ctrls. It returns that
// cgroup's path inside the hierarchy, or "" and why there is none.
func Delegated(ctrls []string) (string, string) {
	if !Unified() {
		return "", "cgroup v1 host"
	}
	own, err := ownV2()
	if err != nil {
		return "", err.Error()
	}
	var svc string
	for p := own; p != "/" && p != "."; p = filepath.Dir(p) {
		if b := filepath.Base(p); strings.HasPrefix(b, "user@") && strings.HasSuffix(b, ".service") {
			svc = p
			break
		}
	}
	if svc == "" {
		return "", fmt.Sprintf("cgroup %s is not in a systemd user@UID.service subtree (no delegation)", own)
	}
	dir := filepath.Join(unifiedRoot, svc)
	if unix.Access(dir, unix.W_OK) != nil {
		return "", fmt.Sprintf("cgroup %s is not writable (no delegation)", svc)
	}
	have, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if !allIn(ctrls, string(have)) {
		return "", fmt.Sprintf("controllers %v are not delegated to %s (it has %q)", ctrls, svc, strings.TrimSpace(string(have)))
	}
	return svc, ""
}

// ownV2 is this process's cgroup in the unified hierarchy ("0::/path").
func ownV2() (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("no cgroup v2 entry in /proc/self/cgroup")
}
