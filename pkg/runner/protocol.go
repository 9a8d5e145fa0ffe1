package runner

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// The parent/child protocol, in ordered steps; each parent step is one
// function of start.go, and every message is typed.
//
//	parent (Run)                               child (Init, re-exec'd from the sealed memfd)
//	------------------------------------------ -------------------------------------------------
//	create cgroup
//	1 spawn: pipe P; socketpair S; clone with
//	  CLONE_NEWNS|NEWPID|NEWUTS|NEWIPC (+NEWNET),
//	  fd 3 = P read end, fd 4 = S, born in the
//	  cgroup (v2: CLONE_INTO_CGROUP; v1: forked
//	  by a locked thread that entered it)      blocks reading fd 3
//	  meanwhile: /etc files, saved spec,
//	  seccomp compiled (childConfig)
//	2 join: v1 where the cgroup could not be
//	  entered (pids limit 1): write pid to it
//	3 sendConfig: initConfig (JSON) on P,      reads config until EOF
//	  close P                                   setns into a network namespace given by path,
//	                                            unshare(CLONE_NEWCGROUP) (now inside its cgroup),
//	                                            hostname, lo up, mounts (make / private, RootMounts,
//	                                            spec mounts resolved in the rootfs by confine, /dev),
//	                                            pivot_root, masked/read-only paths, read-only root
//	                                            -t: opens /dev/ptmx (its devpts) and sends
//	4 recvConsole (-t): syncConsole + master <- syncConsole with the master (SCM_RIGHTS) on S;
//	                                            the slave becomes 0,1,2
//	                                            setsid, rlimits, bounding set, setgroups/gid/uid,
//	                                            parent-death signal again (the uid change cleared
//	                                            it; S hung up = parent gone: exit),
//	                                            caps, no_new_privs, seccomp, close_range(CLOEXEC)
//	5 awaitExec: read S until EOF         <---- on failure: syncError with a childError, exit
//	  EOF = exec succeeded                      execve(command) closes S (--init: execve of the
//	                                            reaper, which then runs the command: reaper.go)
//	6 announce: pid file, Config.Started
//	7 supervise: forward signals, copy pty, wait, read the cgroup's OOM count; Run deletes the cgroup
//
// Any child message other than the one a step expects is a protocol error:
// the parent kills the child and fails with 125.
//
// Exec (join.go) runs the same steps for a process entering a running
// container: step 1 forks the child from a locked thread that has joined
// the init's pid, uts, ipc, net and cgroup namespaces with setns (the
// child is born in its pid namespace) and, on v1 when the container has no
// pids limit, its cgroup (the child is born in it), without CLONE_NEW*
// flags, and passes a pidfd of the init as fd 5; step 2 adds it to the
// container's cgroup where it was not born there; the child, seeing initConfig.Join, makes itself not dumpable,
// sets its parent-death signal, enters the init's mount namespace (and so
// its root) through fd 5, skips the namespace and root filesystem setup
// (no unshare, hostname, mounts or pivot_root) and goes on from the -t
// console on, with the saved spec's user, rlimits, capabilities,
// no_new_privs, seccomp and AppArmor profile. Step 6 writes no pid file.
const (
	envInit  = "_CTRLITE_RUNNER_INIT"
	fdConfig = 3
	fdSync   = 4
	fdJoin   = 5 // Exec only: a pidfd of the container's init
)

// initConfig is what the parent sends the child (step 3).
type initConfig struct {
	Spec       *specs.Spec
	RootMounts []specs.Mount
	// Seccomp is the compiled filter; Spec.Linux.Seccomp, its source, is
	// not sent (childSpec).
	Seccomp bpfProgram `json:",omitempty"`
	// CgroupV1 lists the v1 hierarchies (mount options, e.g. "memory",
	// "name=systemd") to mount under /sys/fs/cgroup; empty on v2.
	CgroupV1 []string `json:",omitempty"`
	Trace    bool     `json:",omitempty"`
	// Join is set by Exec: the child was started inside a running
	// container's namespaces (and root), so it skips the namespace and
	// root filesystem setup and goes straight to the process's own setup.
	Join bool `json:",omitempty"`
	// Detach (exec -d) leaves the parent-death signal unset: the command
	// outlives the ctr-lite that started it.
	Detach bool `json:",omitempty"`
}

// bpfProgram is a compiled seccomp filter, sent as its raw instructions
// (base64 in the JSON): an object per instruction made the config some
// 26 kB and its decoding about 1 ms of the child's start.
type bpfProgram []unix.SockFilter

func (p bpfProgram) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 8*len(p))
	for _, in := range p {
		b = binary.LittleEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.LittleEndian.AppendUint32(b, in.K)
	}
	return json.Marshal(b)
}

func (p *bpfProgram) UnmarshalJSON(data []byte) error {
	var b []byte
	if err := json.Unmarshal(data, &b); err != nil {
		return err
	}
	if len(b)%8 != 0 {
		return fmt.Errorf("seccomp program of %d bytes: not whole instructions", len(b))
	}
	out := make(bpfProgram, 0, len(b)/8)
	for i := 0; i < len(b); i += 8 {
		out = append(out, unix.SockFilter{
			Code: binary.LittleEndian.Uint16(b[i:]), Jt: b[i+2], Jf: b[i+3], K: binary.LittleEndian.Uint32(b[i+4:]),
		})
	}
	*p = out
	return nil
}

// childSpec is s as sent to the child: without Linux.Seccomp, which the
// child never reads (it installs initConfig.Seccomp, compiled from it).
func childSpec(s *specs.Spec) *specs.Spec {
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return s
	}
	c := *s
	l := *s.Linux
	l.Seccomp = nil
	c.Linux = &l
	return &c
}

// syncType is the kind of a child-to-parent message on the sync socket.
type syncType string

const (
	syncConsole syncType = "console" // carries the pty master as SCM_RIGHTS (step 4)
	syncError   syncType = "error"   // the child cannot exec and exits (steps 4, 5)
)

// syncMsg is one child-to-parent message: one SOCK_SEQPACKET packet of
// JSON, with at most one file descriptor.
type syncMsg struct {
	Type  syncType    `json:"type"`
	Error *childError `json:"error,omitempty"`
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

// writeSync (child) sends m on the sync socket sock, with fd when fd >= 0.
func writeSync(sock int, m syncMsg, fd int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("send %s: %w", m.Type, err)
	}
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	if err := unix.Sendmsg(sock, b, oob, nil, 0); err != nil {
		return fmt.Errorf("send %s: %w", m.Type, err)
	}
	return nil
}

// readSync (parent) receives the next message and the file it carries
// (nil if none). ok is false at EOF: the child exec'd (or died).
func readSync(sock *os.File) (m syncMsg, f *os.File, ok bool, err error) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, flags, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return m, nil, false, fmt.Errorf("read init status: %w", err)
	}
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return m, nil, false, fmt.Errorf("read init status: bad control message")
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			return m, nil, false, fmt.Errorf("read init status: bad rights")
		}
		f = os.NewFile(uintptr(fds[0]), "sync-fd")
	}
	if n == 0 && f == nil {
		return m, nil, false, nil
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || json.Unmarshal(buf[:n], &m) != nil {
		if f != nil {
			f.Close()
		}
		return m, nil, false, fmt.Errorf("container init: bad status %q", buf[:n])
	}
	return m, f, true, nil
}

// unexpected is the error for a message a step did not wait for: the
// child's own *errdefs.ExitError for a syncError, else a protocol error.
func unexpected(m syncMsg, want string) error {
	switch {
	case m.Type == syncError && m.Error != nil:
		return m.Error.err()
	case m.Type == "":
		return fmt.Errorf("protocol: child closed the sync socket, want %s", want)
	}
	return fmt.Errorf("protocol: child sent %q, want %s", m.Type, want)
}

// report sends a failure to the parent and exits the child.
func report(code int, err error) {
	_ = writeSync(fdSync, syncMsg{Type: syncError, Error: &childError{Code: code, Msg: err.Error()}}, -1)
	os.Exit(code)
}
