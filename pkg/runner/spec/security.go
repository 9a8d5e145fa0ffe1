package spec

import (
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/runner/seccomp"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/runner/apparmor"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// applySecurityOpts applies --security-opt values, docker's spellings:
// apparmor=PROFILE|unconfined, no-new-privileges[=true|false] (or
// no-new-privileges:BOOL), seccomp=unconfined|FILE (docker's JSON format). Without apparmor= a
// container that is not privileged asks for the default profile, which
// the runner applies only where AppArmor is enabled.
func applySecurityOpts(s *specs.Spec, privileged bool, opts []string) error {
	if !privileged {
		s.Process.ApparmorProfile = apparmor.Default
	}
	for _, o := range opts {
		k, v, hasValue := strings.Cut(o, "=")
		if !hasValue {
			k, v, hasValue = strings.Cut(o, ":")
		}
		switch k {
		case "apparmor":
			if v == "" {
				return fmt.Errorf("%w: --security-opt %q: apparmor=PROFILE or apparmor=unconfined", ErrInvalidOption, o)
			}
			s.Process.ApparmorProfile = v
			if v == apparmor.Unconfined {
				s.Process.ApparmorProfile = ""
			}
		case "no-new-privileges":
			on := true
			if hasValue {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return fmt.Errorf("%w: --security-opt %q: want true or false", ErrInvalidOption, o)
				}
				on = b
			}
			s.Process.NoNewPrivileges = on
		case "seccomp":
			if v == "unconfined" {
				s.Linux.Seccomp = nil
				continue
			}
			data, err := os.ReadFile(v)
			if err != nil {
				return fmt.Errorf("%w: --security-opt seccomp: %v", ErrInvalidOption, err)
			}
			p, err := seccomp.FromDocker(data, s.Process.Capabilities.Bounding, runtime.GOARCH, seccomp.KernelRelease())
			if err != nil {
				return fmt.Errorf("%w: --security-opt seccomp=%s: %v", ErrInvalidOption, v, err)
			}
			s.Linux.Seccomp = p
		default:
			return fmt.Errorf("%w: --security-opt %q (want apparmor=, no-new-privileges or seccomp=)", ErrInvalidOption, o)
		}
	}
	return nil
}
