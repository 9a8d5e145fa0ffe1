package runner

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/pkg/runner/cgroups"
)

// joinedByParent are the namespaces of the container's init that the
// thread forking Exec's child enters: the child is born in them (in the
// pid namespace: setns only moves children). The child enters the mount
// namespace itself, once it runs (see joinMountNS): it is exec'd from the
// host's mount namespace, so a ctr-lite built with cgo (a test binary)
// finds its ELF interpreter, and nothing of the container's filesystem is
// used to start it. Never the user namespace (see Exec) or the time
// namespace.
const joinedByParent = unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// startJoined (step 1 of Exec) starts the child from a locked thread that
// first enters the container's cgroup where it can (cgroups.Enter, on v1:
// the child is born in it, see startInCgroup; otherwise join adds it)
// and namespaces: the child inherits them (and is born in the pid
// namespace). The thread then goes back to its own namespaces and
// cgroups and to the Go scheduler. It must not end: a process's
// parent-death signal fires when the thread that forked it exits, and
// this thread may have forked the init of a container that Run started in
// this process (Go ends a thread left locked). Only if it cannot go back
// does it stay locked and end, once hold is closed (the child waited for).
func (p *initProc) startJoined(cfg ExecConfig, cg *cgroups.Cgroup, hold <-chan struct{}, tr *tracer) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := threadNamespaces()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("exec %s: %w", shortID(cfg.ID), err)
			return
		}
		defer own.close()
		// Before the container's cgroup namespace: Enter reads where this
		// thread's cgroups are, to come back.
		leave, eerr := cg.Enter()
		if eerr != nil {
			if err := leave(); err != nil {
				errc <- fmt.Errorf("exec %s: %w", shortID(cfg.ID), err)
				return // the thread, still in part of the cgroup, ends
			}
		}
		// One setns call for all: it changes all of them or none.
		if err := unix.Setns(cfg.Pidfd, joinedByParent); err != nil {
			if leave() == nil {
				runtime.UnlockOSThread()
			}
			errc <- fmt.Errorf("exec %s: enter the container's namespaces: %w", shortID(cfg.ID), err)
			return
		}
		err = p.startChild(cfg.ID, tr)
		p.born = err == nil && eerr == nil
		errc <- err
		if own.restore() == nil && leave() == nil {
			runtime.UnlockOSThread()
			return
		}
		if err == nil && !cfg.Detach {
			<-hold
		}
	}()
	return <-errc
}

// nsFiles are a thread's own namespaces, to go back to.
type nsFiles []struct{ fd, kind int }

// threadNamespaces opens the calling thread's namespaces of the kinds in
// joinedByParent (for pid, the one its children are born in).
func threadNamespaces() (nsFiles, error) {
	var out nsFiles
	for _, n := range []struct {
		name string
		kind int
	}{{"pid_for_children", unix.CLONE_NEWPID}, {"uts", unix.CLONE_NEWUTS}, {"ipc", unix.CLONE_NEWIPC}, {"net", unix.CLONE_NEWNET}, {"cgroup", unix.CLONE_NEWCGROUP}} {
		fd, err := unix.Open("/proc/thread-self/ns/"+n.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			out.close()
			return nil, fmt.Errorf("open own %s namespace: %w", n.name, err)
		}
		out = append(out, struct{ fd, kind int }{fd, n.kind})
	}
	return out, nil
}

func (ns nsFiles) restore() error {
	for _, n := range ns {
		if err := unix.Setns(n.fd, n.kind); err != nil {
			return err
		}
	}
	return nil
}

func (ns nsFiles) close() {
	for _, n := range ns {
		unix.Close(n.fd)
	}
}

// joinMountNS (Exec's child, on its locked thread) enters the mount
// namespace of the container's init (pidfd fdJoin), which makes the
// container's root this thread's root and working directory; exec
// carries that over to the command. Joining a mount namespace needs a
// thread that shares no filesystem information (root, cwd) with others.
func joinMountNS() error {
	defer unix.Close(fdJoin)
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare filesystem info: %w", err)
	}
	if err := unix.Setns(fdJoin, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("enter the container's mount namespace: %w", err)
	}
	return nil
}
