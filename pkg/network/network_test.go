package network

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/internal/testutil"
)

// inNS runs fn on a thread that joined the network namespace at path; the
// thread is thrown away afterwards. Sockets fn opens stay in that namespace.
func inNS(t *testing.T, path string, fn func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		f, err := os.Open(path)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// serveOnce answers every connection on l with msg.
func serveOnce(l net.Listener, msg string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		io.WriteString(c, msg)
		c.Close()
	}
}

func get(t *testing.T, addr string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// TestAttachDetach attaches two namespaces to the default network (written
// on first use): distinct addresses in its subnet, each reaches the other
// and a server on the bridge's address, a published port answers on
// 127.0.0.1; Detach (twice) leaves no veth, rule, lease or netns behind.
func TestAttachDetach(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	root, conf := t.TempDir(), t.TempDir()
	ipam := IPAMDir(root)
	before := testutil.CountNet(t, DefaultBridge, ipam)
	var atts []*Attachment
	var dirs []string
	ids := []string{"aaaa" + NewTestID(), "bbbb" + NewTestID()}
	for i, id := range ids {
		dir := filepath.Join(root, id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		o := Options{ConfDir: ConfDir(conf), IPAMDir: ipam, Network: Default, Dir: dir, ID: id}
		if i == 0 {
			o.Ports = []Port{{HostIP: "127.0.0.1", HostPort: 18081, ContainerPort: 80, Protocol: "tcp"}}
		}
		a, err := Attach(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
		atts = append(atts, a)
		t.Cleanup(func() { Detach(ctx, dir, id) })
	}
	if _, err := os.Stat(filepath.Join(ConfDir(conf), Default+".conflist")); err != nil {
		t.Errorf("default conflist not written: %v", err)
	}
	subnet := netip.MustParsePrefix(DefaultSubnet)
	for _, a := range atts {
		if ip, err := netip.ParseAddr(a.IP); err != nil || !subnet.Contains(ip) {
			t.Errorf("address %q not in %s", a.IP, subnet)
		}
	}
	if atts[0].IP == atts[1].IP {
		t.Fatalf("both got %s", atts[0].IP)
	}
	if len(testutil.CNIRules(t, ids[0])) == 0 {
		t.Errorf("no iptables rule names %s", ids[0])
	}

	// A server in the first namespace, on :80 (published as 127.0.0.1:18081).
	var inA net.Listener
	if err := inNS(t, atts[0].NetNS, func() (err error) { inA, err = net.Listen("tcp", ":80"); return }); err != nil {
		t.Fatal(err)
	}
	defer inA.Close()
	go serveOnce(inA, "from-a")
	// A server on the host, on the bridge's address.
	onHost, err := net.Listen("tcp", net.JoinHostPort(atts[0].Gateway, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer onHost.Close()
	go serveOnce(onHost, "from-host")

	tests := []struct {
		name, ns, addr, want string
	}{
		{"b reaches a by IP", atts[1].NetNS, net.JoinHostPort(atts[0].IP, "80"), "from-a"},
		{"a reaches the host's bridge address", atts[0].NetNS, onHost.Addr().String(), "from-host"},
		{"host reaches the published port", "", "127.0.0.1:18081", "from-a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			do := func() (err error) { got, err = get(t, tc.addr); return }
			if tc.ns != "" {
				err = inNS(t, tc.ns, do)
			} else {
				err = do()
			}
			if err != nil || got != tc.want {
				t.Errorf("GET %s: %q, %v; want %q", tc.addr, got, err, tc.want)
			}
		})
	}

	for i, dir := range dirs {
		for range 2 {
			if err := Detach(ctx, dir, ids[i]); err != nil {
				t.Errorf("detach: %v", err)
			}
		}
		if _, err := os.Stat(NSPath(dir)); !os.IsNotExist(err) {
			t.Errorf("netns file left: %v", err)
		}
	}
	if after := testutil.CountNet(t, DefaultBridge, ipam); after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
	for _, id := range ids {
		if r := testutil.CNIRules(t, id); len(r) != 0 {
			t.Errorf("rules for %s left: %q", id, r)
		}
	}
}

// TestDetachAfterFailedAttach: an ADD that fails half-way (bridge and IPAM
// done, then a tuning plugin fails on a sysctl that does not exist) is
// undone: nothing is left.
func TestDetachAfterFailedAttach(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	root, conf := t.TempDir(), t.TempDir()
	ipam := IPAMDir(root)
	list := `{"cniVersion":"1.0.0","name":"half","plugins":[
	 {"type":"bridge","bridge":"` + DefaultBridge + `","isGateway":true,"ipMasq":true,
	  "ipam":{"type":"host-local","dataDir":"` + ipam + `","ranges":[[{"subnet":"` + DefaultSubnet + `"}]]}},
	 {"type":"tuning","sysctl":{"net.ipv4.conf.eth0.no_such_setting":"1"}}]}`
	if err := os.MkdirAll(ConfDir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ConfDir(conf), "half.conflist"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	before := testutil.CountNet(t, DefaultBridge, ipam)
	id := "cccc" + NewTestID()
	dir := filepath.Join(root, id)
	os.MkdirAll(dir, 0o700)
	if _, err := Attach(ctx, Options{ConfDir: ConfDir(conf), IPAMDir: ipam, Network: "half", Dir: dir, ID: id}); err == nil {
		t.Fatal("attach with a missing plugin succeeded")
	}
	if after := testutil.CountNet(t, DefaultBridge, ipam); after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
	if err := Detach(ctx, dir, id); err != nil {
		t.Errorf("detach after failed attach: %v", err)
	}
}

func TestUnknownNetwork(t *testing.T) {
	_, err := Attach(context.Background(), Options{ConfDir: t.TempDir(), Network: "nope", Dir: t.TempDir(), ID: "x"})
	if err == nil {
		t.Fatal("attach to an unknown network succeeded")
	}
}

// NewTestID is a random hex string, as container IDs are.
func NewTestID() string {
	var b [8]byte
	f, _ := os.Open("/dev/urandom")
	f.Read(b[:])
	f.Close()
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 16)
	for _, c := range b {
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}
