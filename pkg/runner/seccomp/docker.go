package seccomp

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// dockerProfile is docker's seccomp profile format (moby's default.json,
// `docker run --security-opt seccomp=FILE`): the runtime-spec's rules
// with conditions on the container's capabilities, architecture and kernel.
type dockerProfile struct {
	DefaultAction   specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet *uint                    `json:"defaultErrnoRet,omitempty"`
	Architectures   []specs.Arch             `json:"architectures"` // older format
	ArchMap         []struct {
		Arch specs.Arch   `json:"architecture"`
		Sub  []specs.Arch `json:"subArchitectures"`
	} `json:"archMap"`
	Syscalls []dockerRule `json:"syscalls"`
}

type dockerRule struct {
	specs.LinuxSyscall
	Name     string       `json:"name"` // older format: one name
	Includes dockerFilter `json:"includes"`
	Excludes dockerFilter `json:"excludes"`
}

type dockerFilter struct {
	Caps      []string `json:"caps"`
	Arches    []string `json:"arches"`
	MinKernel string   `json:"minKernel"`
}

// FromDocker reads a profile in docker's format for a container holding
// caps (CAP_ names) on goarch (runtime.GOARCH) under kernel (uname -r), as
// docker does: a rule is kept when the container has every capability it
// includes and none it excludes, the architecture is among its arches (if
// any) and not excluded, and the kernel is at least its minKernel.
func FromDocker(data []byte, caps []string, goarch, kernel string) (*specs.LinuxSeccomp, error) {
	var d dockerProfile
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	if d.DefaultAction == "" {
		return nil, fmt.Errorf("seccomp profile: no defaultAction: %w", errdefs.ErrUnsupported)
	}
	p := &specs.LinuxSeccomp{DefaultAction: d.DefaultAction, DefaultErrnoRet: d.DefaultErrnoRet, Architectures: d.Architectures}
	native := scmpArch(goarch)
	for _, a := range d.ArchMap {
		if a.Arch == native {
			p.Architectures = append(append(p.Architectures, a.Arch), a.Sub...)
		}
	}
	for _, r := range d.Syscalls {
		if !r.applies(caps, goarch, kernel) {
			continue
		}
		s := r.LinuxSyscall
		if r.Name != "" {
			s.Names = append(s.Names, r.Name)
		}
		p.Syscalls = append(p.Syscalls, s)
	}
	return p, nil
}

func (r dockerRule) applies(caps []string, goarch, kernel string) bool {
	for _, c := range r.Includes.Caps {
		if !slices.Contains(caps, c) {
			return false
		}
	}
	for _, c := range r.Excludes.Caps {
		if slices.Contains(caps, c) {
			return false
		}
	}
	if len(r.Includes.Arches) > 0 && !slices.Contains(r.Includes.Arches, goarch) {
		return false
	}
	if slices.Contains(r.Excludes.Arches, goarch) {
		return false
	}
	return r.Includes.MinKernel == "" || !kernelBefore(kernel, r.Includes.MinKernel)
}

// scmpArch names goarch as libseccomp does.
func scmpArch(goarch string) specs.Arch {
	switch goarch {
	case "amd64":
		return specs.ArchX86_64
	case "arm64":
		return specs.ArchAARCH64
	case "386":
		return specs.ArchX86
	}
	return specs.Arch("SCMP_ARCH_" + strings.ToUpper(goarch))
}

// kernelBefore reports whether release (uname -r, "6.1.0-57-amd64") is
// older than min ("4.8").
func kernelBefore(release, min string) bool {
	num := func(s string) [2]int {
		var v [2]int
		for i, f := range strings.SplitN(s, ".", 3) {
			if i > 1 {
				break
			}
			n, _ := strconv.Atoi(strings.TrimRightFunc(f, func(r rune) bool { return r < '0' || r > '9' }))
			v[i] = n
		}
		return v
	}
	a, b := num(release), num(min)
	return a[0] < b[0] || a[0] == b[0] && a[1] < b[1]
}

// KernelRelease is this machine's kernel release (uname -r).
func KernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
