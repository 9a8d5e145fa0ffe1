package launch

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/crilog"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// attachSocket is the unix socket a -t container's monitor serves in the
// container's directory: what a client sends goes to the pty, the pty's
// output goes to every client.
const attachSocket = "attach.sock"

// Detach keys: ctrl-p ctrl-q, as docker's.
const (
	ctrlP = 0x10
	ctrlQ = 0x11
)

// shortPath names dir/name through /proc/self/fd, whatever dir's length:
// a unix socket's path must fit in 108 bytes. close ends it.
func shortPath(dir, name string) (string, func(), error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + name, func() { unix.Close(fd) }, nil
}

// attachServer is the monitor's side.
type attachServer struct {
	ln      net.Listener
	path    string
	in      *io.PipeReader // the pty's input
	inW     *io.PipeWriter
	mu      sync.Mutex
	clients map[net.Conn]bool
}

func serveAttach(dir string) (*attachServer, error) {
	p, done, err := shortPath(dir, attachSocket)
	if err != nil {
		return nil, fmt.Errorf("attach socket: %w", err)
	}
	defer done()
	path := filepath.Join(dir, attachSocket)
	os.Remove(path)
	ln, err := net.Listen("unix", p)
	if err != nil {
		return nil, fmt.Errorf("attach socket: %w", err)
	}
	// Its /proc/self/fd name is gone once done: unlink by the real path.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	s := &attachServer{ln: ln, path: path, clients: map[net.Conn]bool{}}
	s.in, s.inW = io.Pipe()
	go s.accept()
	return s, nil
}

func (s *attachServer) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.clients[conn] = true
		s.mu.Unlock()
		go func() {
			_, _ = io.Copy(s.inW, conn)
			s.drop(conn)
		}()
	}
}

func (s *attachServer) drop(conn net.Conn) {
	s.mu.Lock()
	delete(s.clients, conn)
	s.mu.Unlock()
	conn.Close()
}

// Write sends the pty's output to every client; one that does not take it
// within a second is dropped, so a stuck client never stalls the container.
func (s *attachServer) Write(p []byte) (int, error) {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.clients))
	for c := range s.clients {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(p); err != nil {
			s.drop(c)
		}
	}
	return len(p), nil
}

func (s *attachServer) close() {
	s.ln.Close()
	os.Remove(s.path)
	s.mu.Lock()
	for c := range s.clients {
		c.Close()
	}
	s.clients = map[net.Conn]bool{}
	s.mu.Unlock()
	s.inW.Close()
}

// Attach connects in and out to running container ref: to its terminal
// through its monitor (a -t container), else to its log from since on
// (output only; zero: from now). It returns when the container exits, with its exit
// status, or when the user types the detach keys ctrl-p ctrl-q
// (detached, the container runs on).
func Attach(ctx context.Context, st *content.Store, ref string, since time.Time, in io.Reader, out, errOut io.Writer) (code int, detached bool, err error) {
	cs := container.NewStore(st.Root())
	c, err := cs.Load(ctx, ref)
	if err != nil {
		return 0, false, err
	}
	if c.Status != container.Running && since.IsZero() {
		return 0, false, fmt.Errorf("attach %s: %w", c.ShortID(), container.ErrNotRunning)
	}
	if !c.Tty {
		if since.IsZero() {
			since = time.Now()
		}
		running := func() bool {
			c, err := cs.Load(ctx, c.ID)
			return err == nil && c.Active()
		}
		if err := crilog.Copy(ctx, cs.LogPath(c.ID), crilog.Options{Tail: -1, Since: since, Running: running}, out, errOut); err != nil {
			return 0, false, err
		}
	} else {
		if detached, err = attachTerminal(ctx, cs.Dir(c.ID), in, out); err != nil || detached {
			return 0, detached, err
		}
	}
	code, err = cs.Wait(ctx, c.ID)
	return code, false, err
}

func attachTerminal(ctx context.Context, dir string, in io.Reader, out io.Writer) (bool, error) {
	p, done, err := shortPath(dir, attachSocket)
	if err != nil {
		return false, fmt.Errorf("attach: %w", err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", p)
	done()
	if err != nil {
		return false, fmt.Errorf("attach: %w", err)
	}
	defer conn.Close()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if st, err := term.MakeRaw(int(f.Fd())); err == nil {
			defer term.Restore(int(f.Fd()), st)
		}
	}
	detach := make(chan struct{})
	go func() {
		if sendInput(conn, in) {
			close(detach)
			conn.Close()
		}
	}()
	_, _ = io.Copy(out, conn)
	select {
	case <-detach:
		return true, nil
	default:
		return false, nil
	}
}

// sendInput copies in to conn until the detach keys (true) or the end of
// in (false).
func sendInput(conn net.Conn, in io.Reader) bool {
	buf := make([]byte, 4096)
	held := false // a ctrl-p waits for the next byte
	for {
		n, err := in.Read(buf)
		out := make([]byte, 0, n+1)
		for _, b := range buf[:n] {
			switch {
			case held && b == ctrlQ:
				conn.Write(out)
				return true
			case held:
				out = append(out, ctrlP)
				held = false
			}
			if b == ctrlP {
				held = true
				continue
			}
			out = append(out, b)
		}
		if len(out) > 0 {
			if _, werr := conn.Write(out); werr != nil {
				return false
			}
		}
		if err != nil {
			return false
		}
	}
}
