package runner

import (
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// The parent/child protocol.
//
//	parent (Run)                               child (Init, re-exec'd from the sealed memfd)
//	------------------------------------------ -------------------------------------------------
//	create cgroup; pipe P; socketpair S
//	clone with CLONE_NEWNS|NEWPID|NEWUTS|NEWIPC
//	  (+NEWNET), fd 3 = P read end, fd 4 = S
//	  (v2: CLONE_INTO_CGROUP)
//	v1: write pid to the cgroup                blocks reading fd 3
//	write initConfig (JSON) to P, close it      reads config until EOF
//	                                            unshare(CLONE_NEWCGROUP) (now inside its cgroup),
//	                                            hostname, lo up, mounts (make / private, RootMounts,
//	                                            spec mounts via openat2 RESOLVE_IN_ROOT fds, /dev),
//	                                            pivot_root, masked/read-only paths, read-only root
//	                                            -t: opens /dev/ptmx (its devpts) and sends the master
//	read S: receives the pty master (-t)  <---- over S (SCM_RIGHTS); slave becomes 0,1,2
//	                                            setsid, rlimits, bounding set, setgroups/gid/uid,
//	                                            caps, no_new_privs, seccomp, close_range(CLOEXEC)
//	read S until EOF                      <---- on failure: one JSON childError, exit
//	EOF = exec succeeded                        execve(command) closes S
//	forward signals, copy pty, wait, read the cgroup's OOM count, delete the cgroup
const (
	envInit    = "_CTRLITE_RUNNER_INIT"
	fdConfig   = 3
	fdSync     = 4
	msgPtyName = "pty"
)

// initConfig is what the parent sends the child.
type initConfig struct {
	Spec       *specs.Spec
	RootMounts []specs.Mount
	Seccomp    []unix.SockFilter `json:",omitempty"`
	// CgroupV1 lists the v1 hierarchies (mount options, e.g. "memory",
	// "name=systemd") to mount under /sys/fs/cgroup; empty on v2.
	CgroupV1 []string `json:",omitempty"`
	Trace    bool     `json:",omitempty"`
}

// childError is what the child reports when it cannot exec.
type childError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

func (e childError) err() error {
	var base error
	switch e.Code {
	case CodeNotFound:
		base = fmt.Errorf("executable file %w", errdefs.ErrNotFound) // exit 127
	case CodeNotExecutable:
		base = ErrNotExecutable
	default:
		return &errdefs.ExitError{Code: e.Code, Err: fmt.Errorf("container init: %s", e.Msg)}
	}
	return &errdefs.ExitError{Code: e.Code, Err: fmt.Errorf("%s: %w", e.Msg, base)}
}

// report sends a failure to the parent and exits the child.
func report(code int, err error) {
	b, _ := json.Marshal(childError{Code: code, Msg: err.Error()})
	_, _ = unix.Write(fdSync, b)
	os.Exit(code)
}
