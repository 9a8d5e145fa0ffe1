package userns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

const (
	// envStage marks the first stage of the child: wait for the maps on
	// fdGo, then exec again.
	envStage = "_CTRLITE_USERNS_STAGE"
	// envInside is set in the namespace to its kind (Full or Single).
	envInside = "_CTRLITE_USERNS"
	// envParent is the pid of the parent outside, for stage two.
	envParent = "_CTRLITE_USERNS_PARENT"
	// fdGo is the read end of the pipe the parent closes once the maps are
	// written (after one byte) or when it failed (no byte).
	fdGo = 3
)

// Kinds of mapping.
const (
	Full   = "subid"  // 0 -> caller, 1..N -> the caller's subordinate range
	Single = "single" // 0 -> caller only
)

// ErrUnavailable: the kernel refused to make a user namespace (they are
// disabled, or the limit is reached); nothing was run.
var ErrUnavailable = errors.New("user namespaces are not available")

// Inside reports the kind of mapping of the namespace this process was
// re-executed in by Enter, or "" when it was not.
func Inside() string { return os.Getenv(envInside) }

// Needed reports whether a command that writes or runs container files
// must Enter first: the caller is not root and not already inside.
func Needed() bool { return os.Geteuid() != 0 && Inside() == "" }

// Plan is the mapping Enter would make for the caller.
type Plan struct {
	UID, GID int
	User     string
	// SubUID and SubGID are the caller's ranges; zero without Full.
	SubUID, SubGID Range
	Kind           string
	// Why tells, for Single, what is missing for Full.
	Why string
}

// Warning is the one message a Single plan prints: what is lost and how
// to get a Full mapping. "" for Full.
func (p Plan) Warning() string {
	if p.Kind != Single {
		return ""
	}
	return fmt.Sprintf("warning: %s: only your own uid is mapped (container root is you); "+
		"image files owned by other users become yours and chown to other ids fails in containers. "+
		"For a full mapping install uidmap and give %s a range: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s (a range no other user has)",
		p.Why, p.User, p.User)
}

// MakePlan finds the caller's ranges and the helper programs.
func MakePlan() (Plan, error) {
	p := Plan{UID: os.Getuid(), GID: os.Getgid(), Kind: Single}
	u, err := user.LookupId(strconv.Itoa(p.UID))
	if err != nil {
		u = &user.User{Uid: strconv.Itoa(p.UID), Username: strconv.Itoa(p.UID)}
	}
	p.User = u.Username
	su, okU, err := subRange("/etc/subuid", u)
	if err != nil {
		return p, err
	}
	sg, okG, err := subRange("/etc/subgid", u)
	if err != nil {
		return p, err
	}
	_, errU := exec.LookPath("newuidmap")
	_, errG := exec.LookPath("newgidmap")
	switch {
	case !okU || !okG:
		p.Why = "no range for " + p.User + " in /etc/subuid and /etc/subgid"
	case errU != nil || errG != nil:
		p.Why = "newuidmap/newgidmap not found (Debian package uidmap)"
	default:
		p.Kind, p.SubUID, p.SubGID = Full, su, sg
	}
	return p, nil
}

// Enter runs this binary again with args in a new user and mount
// namespace mapped as p says, passes stdio through, forwards signals and
// returns the child's exit status (128+N when killed by signal N).
func Enter(ctx context.Context, p Plan, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("enter user namespace: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("enter user namespace: %w", err)
	}
	defer r.Close()
	defer w.Close()
	cmd := exec.Command(exe, args...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), envStage+"=1", envInside+"="+p.Kind, envParent+"="+strconv.Itoa(os.Getpid()))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.ExtraFiles = []*os.File{r}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS,
		Pdeathsig:  unix.SIGKILL,
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("enter user namespace: %w: %w", ErrUnavailable, err)
	}
	r.Close()
	if err := writeMaps(cmd.Process.Pid, p); err != nil {
		w.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, fmt.Errorf("enter user namespace: %w", err)
	}
	if _, err := w.Write([]byte{1}); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, fmt.Errorf("enter user namespace: %w", err)
	}
	w.Close()
	done := make(chan struct{})
	go forward(cmd.Process, sigs, done, fromTerminal(stdin))
	err = cmd.Wait()
	close(done)
	var xe *exec.ExitError
	if err != nil && !errors.As(err, &xe) {
		return 0, fmt.Errorf("enter user namespace: %w", err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return cmd.ProcessState.ExitCode(), nil
}

// writeMaps maps the child's ids: with newuidmap/newgidmap for Full, or
// by writing the caller's one id itself for Single (setgroups denied, as
// the kernel requires of an unprivileged writer).
func writeMaps(pid int, p Plan) error {
	ps := strconv.Itoa(pid)
	if p.Kind == Full {
		for _, m := range []struct {
			prog string
			id   int
			r    Range
		}{{"newuidmap", p.UID, p.SubUID}, {"newgidmap", p.GID, p.SubGID}} {
			out, err := exec.Command(m.prog, ps, "0", strconv.Itoa(m.id), "1",
				"1", strconv.Itoa(m.r.Start), strconv.Itoa(m.r.Count)).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%s: %v: %s", m.prog, err, strings.TrimSpace(string(out)))
			}
		}
		return nil
	}
	for _, f := range []struct{ file, data string }{
		{"uid_map", fmt.Sprintf("0 %d 1\n", p.UID)},
		{"setgroups", "deny"},
		{"gid_map", fmt.Sprintf("0 %d 1\n", p.GID)},
	} {
		if err := os.WriteFile("/proc/"+ps+"/"+f.file, []byte(f.data), 0); err != nil {
			return fmt.Errorf("write %s: %w", f.file, err)
		}
	}
	return nil
}

// forwarded are the signals the parent passes on to the child.
var forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2}

// forward passes signals on until done. From a terminal, SIGINT and
// SIGQUIT (Ctrl-C, Ctrl-\) already reach the child, which is in the same
// foreground process group: they are not sent twice.
func forward(p *os.Process, sigs <-chan os.Signal, done <-chan struct{}, tty bool) {
	for {
		select {
		case s := <-sigs:
			if tty && (s == unix.SIGINT || s == unix.SIGQUIT) {
				continue
			}
			_ = p.Signal(s)
		case <-done:
			return
		}
	}
}

func fromTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Init must be called early in main (after runner.Init): in the first
// stage of a child of Enter it waits for the maps and execs the binary
// again as root of the namespace, never returning; elsewhere it returns.
func Init() {
	if ppid := os.Getenv(envParent); ppid != "" && os.Getenv(envStage) == "" {
		// Stage two. The exec that gave this process its capabilities
		// cleared the parent-death signal: set it again, so killing the
		// parent (ctr-lite outside) still kills this one and, through the
		// runner's own, the container.
		os.Unsetenv(envParent)
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
		if strconv.Itoa(os.Getppid()) != ppid {
			os.Exit(125) // the parent died before the signal was set
		}
		return
	}
	if os.Getenv(envStage) != "1" {
		return
	}
	f := os.NewFile(fdGo, "userns-go")
	var b [1]byte
	if n, _ := f.Read(b[:]); n != 1 {
		os.Exit(125) // the parent failed and says why
	}
	f.Close()
	os.Unsetenv(envStage)
	exe, err := os.Readlink("/proc/self/exe")
	if err == nil {
		err = unix.Exec("/proc/self/exe", os.Args, os.Environ())
	}
	fmt.Fprintf(os.Stderr, "ctr-lite: enter user namespace: exec %s: %v\n", exe, err)
	os.Exit(125)
}
