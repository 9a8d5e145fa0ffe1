package apparmor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Default is the name of the profile containers get unless told otherwise.
const Default = "ctr-lite-default"

// Unconfined asks for no profile (--security-opt apparmor=unconfined).
const Unconfined = "unconfined"

// ErrNotEnabled: a profile was asked for on a host without AppArmor.
var ErrNotEnabled = errors.New("AppArmor is not enabled on this host")

// securityfs is where the kernel lists loaded profiles.
const securityfs = "/sys/kernel/security/apparmor"

// Enabled reports whether the kernel confines processes with AppArmor.
func Enabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	if err != nil || !bytes.HasPrefix(b, []byte("Y")) {
		return false
	}
	_, err = os.Stat(securityfs)
	return err == nil
}

// Resolve decides the profile a container's process gets, given the one
// the spec asks for: Default becomes "" (none) where AppArmor is not
// enabled, and is loaded when it is; Unconfined becomes ""; any other
// name must be loaded already, and needs AppArmor.
func Resolve(ctx context.Context, profile string) (string, error) {
	switch {
	case profile == "" || profile == Unconfined:
		return "", nil
	case !Enabled():
		if profile == Default {
			return "", nil
		}
		return "", fmt.Errorf("apparmor profile %s: %w", profile, ErrNotEnabled)
	case profile == Default:
		return profile, ensureDefault(ctx)
	}
	return profile, nil
}

// loaded reports whether a profile of that name is in the kernel.
func loaded(name string) bool {
	b, err := os.ReadFile(securityfs + "/profiles")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if n, _, _ := strings.Cut(l, " ("); n == name {
			return true
		}
	}
	return false
}

// ensureDefault loads the default profile with apparmor_parser unless it
// is loaded already.
func ensureDefault(ctx context.Context) error {
	if loaded(Default) {
		return nil
	}
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		return fmt.Errorf("load apparmor profile %s: AppArmor is enabled but apparmor_parser is missing (apt-get install apparmor): %w", Default, err)
	}
	cmd := exec.CommandContext(ctx, parser, "-Kr")
	cmd.Stdin = strings.NewReader(Profile(Default))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("load apparmor profile %s: %v: %s", Default, err, bytes.TrimSpace(out))
	}
	return nil
}

// OnExec makes the calling thread's next exec run under profile: the
// container's init calls it last, before no_new_privs and seccomp.
func OnExec(profile string) error {
	if profile == "" {
		return nil
	}
	attr := []byte("exec " + profile)
	err := os.WriteFile("/proc/thread-self/attr/apparmor/exec", attr, 0)
	if errors.Is(err, os.ErrNotExist) { // kernels before 5.8
		err = os.WriteFile("/proc/thread-self/attr/exec", attr, 0)
	}
	if err != nil {
		return fmt.Errorf("apparmor profile %s on exec: %w", profile, err)
	}
	return nil
}
