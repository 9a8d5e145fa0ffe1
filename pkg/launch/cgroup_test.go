package launch

import (
	"slices"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/network"
	"github.com/ctrlite/ctr-lite/pkg/runner/cgroups"
	"github.com/ctrlite/ctr-lite/pkg/runner/spec"
	"github.com/ctrlite/ctr-lite/pkg/usernet"
)

func TestLimitFlags(t *testing.T) {
	tests := []struct {
		name string
		so   spec.Options
		want []string
	}{
		{"none", spec.Options{}, nil},
		{"all", spec.Options{Memory: 1 << 20, CPUs: 0.5, PidsLimit: 10}, []string{"--memory", "--cpus", "--pids-limit"}},
		{"pids", spec.Options{PidsLimit: 1}, []string{"--pids-limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := limitFlags(tt.so); !slices.Equal(got, tt.want) {
				t.Fatalf("limitFlags = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRootlessCgroupHere decides for this host: with no delegated v2
// subtree (a v1 or hybrid host, or this process outside user@UID.service),
// limits are refused and a run without them has no cgroup.
func TestRootlessCgroupHere(t *testing.T) {
	if svc, _ := cgroups.Delegated([]string{"memory", "pids", "cpu"}); svc != "" {
		t.Skipf("this process is in a delegated subtree (%s): the VM test covers it", svc)
	}
	if _, none, err := rootlessCgroup(spec.Options{}); err != nil || none == "" {
		t.Errorf("no limits: want no cgroup and why, got %q, %v", none, err)
	}
	_, _, err := rootlessCgroup(spec.Options{Memory: 64 << 20})
	if err == nil || !strings.Contains(err.Error(), "--memory") {
		t.Errorf("--memory without delegation: want an error naming it, got %v", err)
	}
	if !cgroups.Unified() && !strings.HasPrefix(err.Error(), "cgroup v1 host") {
		t.Errorf("on a v1 host the error says so: %v", err)
	}
}

func TestNetworkDefault(t *testing.T) {
	resolve := func(unpriv bool, asked string, ports ...network.Port) (string, []string, error) {
		var notices []string
		opts := Options{Spec: spec.Options{Network: asked}, Ports: ports, Notice: func(s string) { notices = append(notices, s) }}
		err := resolveNetwork(unpriv, &opts)
		return opts.Spec.Network, notices, err
	}
	if got, _, _ := resolve(false, ""); got != spec.NetworkBridge {
		t.Errorf("root's default: %q", got)
	}
	if got, _, _ := resolve(true, "none"); got != "none" {
		t.Errorf("asked none: %q", got)
	}
	want := usernet.Default()
	got, notices, _ := resolve(true, "")
	switch {
	case want != "" && got != want:
		t.Errorf("rootless default: %q, want %q", got, want)
	case want == "" && (got != "none" || len(notices) != 1):
		t.Errorf("rootless without pasta or slirp4netns: %q and notices %q, want none and one notice", got, notices)
	}
	p := network.Port{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}
	for _, tc := range []struct {
		asked string
		ok    bool
	}{{"bridge", true}, {"mynet", true}, {"pasta", true}, {"host", false}, {"none", false}, {"slirp4netns", false}} {
		if _, _, err := resolve(false, tc.asked, p); (err == nil) != tc.ok {
			t.Errorf("-p with --network %s: %v", tc.asked, err)
		}
	}
}

func TestAskedAppArmor(t *testing.T) {
	for _, tt := range []struct {
		opts []string
		want bool
	}{
		{nil, false},
		{[]string{"no-new-privileges"}, false},
		{[]string{"apparmor=my-profile"}, true},
		{[]string{"seccomp=unconfined", "apparmor:unconfined"}, true},
	} {
		if got := askedAppArmor(tt.opts); got != tt.want {
			t.Errorf("askedAppArmor(%q) = %v", tt.opts, got)
		}
	}
}
