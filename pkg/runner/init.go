package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	rspec "github.com/ctrlite/ctr-lite/pkg/runner/spec"
)

// Init must be the first call in main() (and TestMain) of any binary that
// uses Run. In the runner's re-exec'd child it sets up the container and
// execs the container process (or, with --init, the reaper that runs it:
// reaper.go), never returning; elsewhere it returns at once.
func Init() {
	if os.Getenv(envReaper) != "" { // run --init: this is the container's PID 1
		reaperMain()
	}
	if os.Getenv(envInit) != "1" {
		return
	}
	// Namespaced state set below (cgroupns, creds, caps, seccomp) is per
	// thread; exec happens from this same thread.
	runtime.LockOSThread()
	err := childMain()
	var ce *errdefs.ExitError // the exit code a child failure maps to
	if errors.As(err, &ce) {
		report(ce.Code, ce.Err)
	}
	report(CodeRunnerFailed, err)
}

func childMain() error {
	unix.Umask(0)
	f := os.NewFile(fdConfig, "config")
	var cfg initConfig
	if err := json.NewDecoder(f).Decode(&cfg); err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	f.Close()
	tr := newTracer("child ", cfg.Trace)
	tr.mark("go start+config")
	s := cfg.Spec
	if s == nil || s.Process == nil || s.Root == nil || s.Linux == nil {
		return fmt.Errorf("read config: %w", ErrInvalidConfig)
	}
	if cfg.Join {
		// Until exec, processes of the container could trace a process
		// that holds more than they do: not while it is not dumpable
		// (runc CVE-2016-9962). execve makes the command dumpable again.
		if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
			return fmt.Errorf("set not dumpable: %w", err)
		}
		if !cfg.Detach {
			if err := rearmParentDeath(); err != nil {
				return err
			}
		}
		if err := joinMountNS(); err != nil {
			return err
		}
	} else if err := setupContainer(&cfg, tr); err != nil {
		return err
	}
	return setupProcess(&cfg, tr)
}

// setupContainer (Run's child only) finishes the namespaces it was cloned
// into and builds and enters the root filesystem.
func setupContainer(cfg *initConfig, tr *tracer) error {
	s := cfg.Spec
	if err := joinNamespaces(s); err != nil {
		return err
	}
	if hasNS(s, specs.CgroupNamespace) {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	if hasNS(s, specs.UTSNamespace) && s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("sethostname: %w", err)
		}
	}
	if hasNS(s, specs.NetworkNamespace) {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	tr.mark("ns setup")
	return setupRootfs(cfg, tr)
}

// setupProcess (Run's and Exec's child) resolves the user inside the
// container, sets up the console, session, rlimits and working directory,
// then drops privileges and execs the command.
func setupProcess(cfg *initConfig, tr *tracer) error {
	s := cfg.Spec
	if u, ok := s.Annotations[rspec.AnnotationUser]; ok {
		if err := resolveUserInside(s.Process, u); err != nil {
			return err
		}
	}
	if g, ok := s.Annotations[rspec.AnnotationGroupAdd]; ok {
		gids, err := rspec.AdditionalGroupsIn("/", strings.Split(g, ","))
		if err != nil {
			return &errdefs.ExitError{Code: CodeRunnerFailed, Err: err}
		}
		s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, gids...)
	}
	if s.Process.Terminal {
		if err := setupConsole(); err != nil {
			return err
		}
	}
	if _, err := unix.Setsid(); err != nil && !s.Process.Terminal {
		return fmt.Errorf("setsid: %w", err)
	}
	if s.Process.Terminal {
		if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
			return fmt.Errorf("set controlling terminal: %w", err)
		}
	}
	for _, r := range s.Process.Rlimits {
		if err := setRlimit(r); err != nil {
			return err
		}
	}
	if err := os.Chdir(s.Process.Cwd); err != nil {
		return fmt.Errorf("chdir to working directory %s: %w", s.Process.Cwd, err)
	}
	tr.mark("console+rlimits")
	return finalizeAndExec(cfg, tr)
}

// resolveUserInside resolves user[:group] against the container's own
// /etc/passwd and /etc/group (after pivot_root: they are its files, and
// any symlink resolves inside its root).
func resolveUserInside(p *specs.Process, userSpec string) error {
	u, home, err := rspec.ResolveUserIn("/", userSpec)
	if err != nil {
		return &errdefs.ExitError{Code: CodeRunnerFailed, Err: err}
	}
	u.Umask = p.User.Umask
	p.User = u
	p.Env = withDefault(p.Env, "HOME", home)
	return nil
}

func hasNS(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, n := range s.Linux.Namespaces {
		if n.Type == t {
			return true
		}
	}
	return false
}

var rlimits = map[string]int{
	"RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_DATA": unix.RLIMIT_DATA,
	"RLIMIT_STACK": unix.RLIMIT_STACK, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK,
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
}

func setRlimit(r specs.POSIXRlimit) error {
	res, ok := rlimits[r.Type]
	if !ok {
		return fmt.Errorf("unknown rlimit %s", r.Type)
	}
	lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
	err := unix.Setrlimit(res, &lim)
	if err == unix.EPERM {
		// Raising the hard limit needs CAP_SYS_RESOURCE: cap to ours.
		var cur unix.Rlimit
		if unix.Getrlimit(res, &cur) == nil {
			lim.Max = min(lim.Max, cur.Max)
			lim.Cur = min(lim.Cur, lim.Max)
			err = unix.Setrlimit(res, &lim)
		}
	}
	if err != nil {
		return fmt.Errorf("setrlimit %s: %w", r.Type, err)
	}
	return nil
}
