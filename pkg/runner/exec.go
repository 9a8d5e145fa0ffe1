package runner

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"unsafe"

	"github.com/ctrlite/ctr-lite/pkg/runner/apparmor"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// finalizeAndExec drops privileges, installs the filters and execs the
// container process. Only this thread's credentials matter: exec discards
// the others.
func finalizeAndExec(cfg *initConfig, tr *tracer) error {
	p := cfg.Spec.Process
	if len(p.Args) == 0 {
		return fmt.Errorf("no command: %w", ErrInvalidConfig)
	}
	if err := apparmor.OnExec(p.ApparmorProfile); err != nil {
		return err
	}
	exeFD := -1
	if wantsReaper(cfg) {
		// Opened while we may still read it: the reaper runs from it.
		fd, err := openSelfExe()
		if err != nil {
			return err
		}
		exeFD = fd
	}
	if !p.NoNewPrivileges && cfg.Seccomp != nil {
		// Without no_new_privs, loading a filter needs CAP_SYS_ADMIN:
		// do it while we still have it.
		if err := loadSeccomp(cfg.Seccomp, false); err != nil {
			return err
		}
	}
	caps, err := capability.NewPid2(0)
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	if err := caps.Load(); err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	if p.Capabilities != nil {
		caps.Clear(capability.BOUNDING)
		caps.Set(capability.BOUNDING, capList(p.Capabilities.Bounding)...)
		if err := caps.Apply(capability.BOUNDING); err != nil {
			return fmt.Errorf("drop bounding capabilities: %w", err)
		}
	}
	if err := switchUser(p.User); err != nil {
		return err
	}
	if !cfg.Detach {
		if err := rearmParentDeath(); err != nil {
			return err
		}
	}
	if p.Capabilities != nil {
		// Only what we hold can be granted (a privileged container on a
		// host that dropped some capabilities gets the rest).
		held := func(names []string) []capability.Cap {
			var out []capability.Cap
			for _, c := range capList(names) {
				if caps.Get(capability.PERMITTED, c) {
					out = append(out, c)
				}
			}
			return out
		}
		eff, prm := held(p.Capabilities.Effective), held(p.Capabilities.Permitted)
		inh, amb := held(p.Capabilities.Inheritable), held(p.Capabilities.Ambient)
		caps.Clear(capability.CAPS | capability.AMBIENT)
		caps.Set(capability.EFFECTIVE, eff...)
		caps.Set(capability.PERMITTED, prm...)
		caps.Set(capability.INHERITABLE, inh...)
		caps.Set(capability.AMBIENT, amb...)
		if err := caps.Apply(capability.CAPS | capability.AMBS); err != nil {
			return fmt.Errorf("set capabilities: %w", err)
		}
	}
	unix.Umask(0o022)
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	}
	bin, err := lookPath(p.Args[0], p.Env)
	if err != nil {
		return err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
		if cfg.Seccomp != nil {
			if err := loadSeccomp(cfg.Seccomp, true); err != nil {
				return err
			}
		}
	}
	tr.mark("creds+caps+seccomp")
	// Every descriptor but stdio closes on exec, the sync socket included:
	// its EOF tells the parent the exec succeeded.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close_range: %w", err)
	}
	var empty unix.Sigset_t
	_ = unix.PthreadSigmask(unix.SIG_SETMASK, &empty, nil)
	if exeFD >= 0 {
		return execReaper(exeFD, bin, p.Args, p.Env)
	}
	err = unix.Exec(bin, p.Args, p.Env)
	return execError(p.Args[0], err)
}

func execError(name string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return &errdefs.ExitError{Code: CodeNotFound, Err: fmt.Errorf("exec %s: %w", name, err)}
	default:
		return &errdefs.ExitError{Code: CodeNotExecutable, Err: fmt.Errorf("exec %s: %w", name, err)}
	}
}

// lookPath finds the command in the container's PATH, as docker reports:
// 127 when missing, 126 when present but not executable.
func lookPath(name string, env []string) (string, error) {
	check := func(p string) error {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return unix.EISDIR
		}
		return unix.Access(p, unix.X_OK)
	}
	if strings.Contains(name, "/") {
		if err := check(name); err != nil {
			return "", execError(name, err)
		}
		return name, nil
	}
	pathEnv := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	var firstErr error
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := path.Join(dir, name)
		err := check(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) && firstErr == nil {
			firstErr = execError(p, err)
		}
	}
	if firstErr != nil {
		return "", firstErr
	}
	return "", &errdefs.ExitError{Code: CodeNotFound, Err: fmt.Errorf("exec %s: not found in $PATH", name)}
}

func capList(names []string) []capability.Cap {
	var out []capability.Cap
	for _, n := range names {
		want := strings.ToLower(strings.TrimPrefix(n, "CAP_"))
		for _, c := range capability.ListKnown() {
			if c.String() == want {
				out = append(out, c)
			}
		}
	}
	return out
}

// setgroupsDenied reports a user namespace whose setgroups(2) is denied
// (one mapped only by its unprivileged creator): the groups cannot be
// changed there, and the process keeps the ones it has.
func setgroupsDenied() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err == nil && strings.TrimSpace(string(b)) == "deny"
}

// switchUser sets groups, gid and uid on this thread only (raw syscalls:
// the Go wrappers change every thread), keeping capabilities across the
// uid change so they can be set afterwards.
func switchUser(u specs.User) error {
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("keepcaps: %w", err)
	}
	groups := append([]uint32{}, u.AdditionalGids...)
	var ptr unsafe.Pointer
	if len(groups) > 0 {
		ptr = unsafe.Pointer(&groups[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(ptr), 0); e != 0 && !(e == unix.EPERM && setgroupsDenied()) {
		return fmt.Errorf("setgroups: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("setgid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("setuid %d: %w", u.UID, e)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("keepcaps: %w", err)
	}
	return nil
}

// rearmParentDeath sets the parent-death signal again: changing the uid
// cleared the one spawn asked for, and a container of `run -u 1000` would
// otherwise outlive a killed ctr-lite (Exec's child also sets it first
// thing: see prepare). The parent may have died before: its end of the
// sync socket is then closed, and the child gives up.
func rearmParentDeath() error {
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set parent-death signal: %w", err)
	}
	fds := []unix.PollFd{{Fd: fdSync, Events: unix.POLLRDHUP}}
	if _, err := unix.Poll(fds, 0); err != nil {
		return fmt.Errorf("check parent: %w", err)
	}
	if fds[0].Revents&(unix.POLLHUP|unix.POLLRDHUP) != 0 {
		return fmt.Errorf("check parent: ctr-lite exited")
	}
	return nil
}

// loadSeccomp installs the filter on this thread (no TSYNC: exec follows).
func loadSeccomp(filter []unix.SockFilter, nnp bool) error {
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog)))
	if e != 0 {
		return fmt.Errorf("load seccomp filter (no_new_privs=%v): %w", nnp, e)
	}
	return nil
}
