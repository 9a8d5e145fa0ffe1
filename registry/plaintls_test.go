package registry

import (
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// sniffListener counts the connections whose first byte opens a TLS
// handshake (0x16).
type sniffListener struct {
	net.Listener
	tls *atomic.Int32
}

func (l sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, tls: l.tls}, nil
}

type sniffConn struct {
	net.Conn
	tls  *atomic.Int32
	seen bool
}

func (c *sniffConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.seen && n > 0 {
		c.seen = true
		if b[0] == 0x16 {
			c.tls.Add(1)
		}
	}
	return n, err
}

// TestPlainHostOneTLSTry: a local registry that speaks plain HTTP only is
// tried over TLS once per client (wantsPlain's probe), not a second time
// by the ping that follows.
func TestPlainHostOneTLSTry(t *testing.T) {
	var tlsTries atomic.Int32
	m := &memRegistry{paths: make(chan string, 1000)}
	m.srv = httptest.NewUnstartedServer(ggcrregistry.New(ggcrregistry.Logger(nilLogger())))
	m.srv.Listener = sniffListener{m.srv.Listener, &tlsTries}
	m.srv.Start()
	t.Cleanup(m.srv.Close)
	m.host = strings.TrimPrefix(m.srv.URL, "http://")
	m.push(t, "app/one:v1", randomImage(t, 1, 100))
	tlsTries.Store(0)

	c := testClient(t, Options{})
	for range 2 {
		if _, err := c.Head(testCtx(t), m.ref(t, "app/one:v1")); err != nil {
			t.Fatal(err)
		}
	}
	if n := tlsTries.Load(); n != 1 {
		t.Errorf("%d TLS handshakes tried on a plain HTTP registry, want 1", n)
	}
}
