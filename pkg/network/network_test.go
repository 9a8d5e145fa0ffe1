package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// inNS runs fn on a thread that joined the network namespace at path,
// then puts the thread back in this process's namespace. Sockets fn opens
// stay in that namespace.
func inNS(t *testing.T, path string, fn func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		f, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		err = fn()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
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

// testNet writes a conflist like the default network's, on a bridge and
// subnet of this package's tests (tests of other packages may use the
// default one at the same time), and deletes the bridge afterwards.
func testNet(t *testing.T, conf, root string) testutil.Net {
	t.Helper()
	n := testutil.Net{Name: "ctrlite-nettest", Bridge: "ctrlitet1", Subnet: "10.89.101.0/24", IPAMDir: filepath.Join(root, "ipam"), Root: root}
	testutil.WriteConflist(t, ConfDir(conf), n)
	t.Cleanup(func() { exec.Command("ip", "link", "delete", n.Bridge).Run() })
	return n
}

// TestAttachDetach attaches two namespaces to a bridge network: distinct
// addresses in its subnet, each reaches the other and a server on the
// bridge's address, a published port answers on 127.0.0.1; Detach (twice)
// leaves no veth, rule, lease or netns behind.
func TestAttachDetach(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	root, conf := t.TempDir(), t.TempDir()
	n := testNet(t, conf, root)
	before := testutil.CountNet(t, n)
	var atts []*Attachment
	var dirs []string
	ids := []string{"aaaa" + NewTestID(), "bbbb" + NewTestID()}
	for i, id := range ids {
		dir := filepath.Join(root, id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		o := Options{ConfDir: ConfDir(conf), Network: n.Name, Dir: dir, ID: id}
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
	// The count sees what the two attachments made.
	if mid := testutil.CountNet(t, n); mid.Veths != before.Veths+2 || mid.Leases != before.Leases+2 || mid.NetNS != before.NetNS+2 || mid.Rules <= before.Rules {
		t.Errorf("attached two: before %+v, during %+v", before, mid)
	}
	subnet := netip.MustParsePrefix(n.Subnet)
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
	if after := testutil.CountNet(t, n); after != before {
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
	n := testNet(t, conf, root)
	n.Name = "half"
	list := `{"cniVersion":"1.0.0","name":"half","plugins":[
	 {"type":"bridge","bridge":"` + n.Bridge + `","isGateway":true,"ipMasq":true,
	  "ipam":{"type":"host-local","dataDir":"` + n.IPAMDir + `","ranges":[[{"subnet":"` + n.Subnet + `"}]]}},
	 {"type":"tuning","sysctl":{"net.ipv4.conf.eth0.no_such_setting":"1"}}]}`
	if err := os.MkdirAll(ConfDir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ConfDir(conf), "half.conflist"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	before := testutil.CountNet(t, n)
	id := "cccc" + NewTestID()
	dir := filepath.Join(root, id)
	os.MkdirAll(dir, 0o700)
	if _, err := Attach(ctx, Options{ConfDir: ConfDir(conf), Network: "half", Dir: dir, ID: id}); err == nil {
		t.Fatal("attach with a failing plugin succeeded")
	}
	if after := testutil.CountNet(t, n); after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
	if err := Detach(ctx, dir, id); err != nil {
		t.Errorf("detach after failed attach: %v", err)
	}
}

// TestDefaultWrittenOnFirstUse: the default network's conflist is written
// once, with the documented bridge, subnet and IPAM directory; other
// names are not found.
func TestDefaultWrittenOnFirstUse(t *testing.T) {
	conf := t.TempDir()
	for range 2 {
		list, err := load(ConfDir(conf), Default, "/ipam")
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, p := range list.Plugins {
			types = append(types, p.Network.Type)
		}
		if got := strings.Join(types, ","); got != "bridge,portmap,firewall" || list.Name != Default {
			t.Errorf("plugins %s name %s", got, list.Name)
		}
		for _, want := range []string{`"bridge": "ctrlite0"`, `"subnet": "10.89.0.0/24"`, `"dataDir": "/ipam"`, `"ipMasq": true`, `"portMappings": true`} {
			if !strings.Contains(string(list.Bytes), want) {
				t.Errorf("conflist lacks %s:\n%s", want, list.Bytes)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(ConfDir(conf), "*"))
	if len(files) != 1 || filepath.Base(files[0]) != Default+".conflist" {
		t.Errorf("net.d holds %v", files)
	}
	if _, err := load(ConfDir(conf), "other", "/ipam"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("unknown network: %v", err)
	}
}

func TestUnknownNetwork(t *testing.T) {
	dir := t.TempDir()
	_, err := Attach(context.Background(), Options{ConfDir: t.TempDir(), Network: "nope", Dir: dir, ID: "x"})
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("attach to an unknown network: %v, want ErrNotFound", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a refused attach made %v", left)
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
