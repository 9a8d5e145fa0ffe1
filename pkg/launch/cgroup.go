package launch

import (
	"fmt"
	"path"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/runner"
	"github.com/ctrlite/ctr-lite/pkg/runner/apparmor"
	"github.com/ctrlite/ctr-lite/pkg/runner/cgroups"
	"github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// unprivileged adapts cfg to a run without privilege: the cgroup (see
// rootlessCgroup), no device rules (a cgroup device program needs
// privilege on the host; the container has no device nodes but the
// standard ones anyway), and no default AppArmor profile.
func unprivileged(cfg *runner.Config, opts Options) error {
	if len(opts.Spec.Devices) > 0 {
		return fmt.Errorf("--device: host devices need root: %w", errdefs.ErrUnsupported)
	}
	s := cfg.Spec
	if s.Process.ApparmorProfile == apparmor.Default && !askedAppArmor(opts.Spec.SecurityOpt) {
		// Loading a profile needs privilege on the host (podman's rootless
		// runs have none either); --security-opt apparmor=NAME asks for a
		// profile root has loaded.
		s.Process.ApparmorProfile = ""
	}
	parent, none, err := rootlessCgroup(opts.Spec)
	if err != nil {
		return err
	}
	if none != "" {
		cfg.NoCgroup = true
		opts.Notice("no cgroup: " + none + "; the container runs in your own cgroup, without resource limits")
		return nil
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[spec.AnnotationCgroupParent] = parent
	if s.Linux.Resources != nil {
		s.Linux.Resources.Devices = nil
	}
	return nil
}

// limitFlags names the flags of so that need a cgroup.
func limitFlags(so spec.Options) []string {
	var out []string
	if so.Memory > 0 {
		out = append(out, "--memory")
	}
	if so.CPUs > 0 {
		out = append(out, "--cpus")
	}
	if so.PidsLimit > 0 {
		out = append(out, "--pids-limit")
	}
	return out
}

// rootlessCgroup decides the cgroup of a run without privilege (rootless,
// or root of a user namespace). On a v2 host with a delegated subtree the
// container's cgroup goes under it (the returned parent, for
// --cgroup-parent) and limits apply. Otherwise there is no cgroup: a
// limit flag is an error saying why, and a run without one proceeds in
// the caller's cgroup (podman's behaviour), with why for the notice.
func rootlessCgroup(so spec.Options) (parent, none string, err error) {
	ctrls := []string{"memory", "pids", "cpu"}
	svc, why := cgroups.Delegated(ctrls)
	if svc != "" {
		sub := strings.TrimPrefix(path.Clean("/"+so.CgroupParent), "/")
		if so.CgroupParent == "" {
			sub = "ctr-lite"
		}
		return path.Join(svc, sub), "", nil
	}
	if flags := limitFlags(so); len(flags) > 0 {
		return "", "", fmt.Errorf("%s: resource limits (%s) need root or a delegated cgroup v2 subtree", why, strings.Join(flags, ", "))
	}
	return "", why, nil
}

// askedAppArmor reports whether --security-opt names an AppArmor profile.
func askedAppArmor(opts []string) bool {
	for _, o := range opts {
		if strings.HasPrefix(o, "apparmor=") || strings.HasPrefix(o, "apparmor:") {
			return true
		}
	}
	return false
}
