package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/network"
)

// The default network's bridge address (the gateway of network.DefaultSubnet).
var bridgeIP = netip.MustParsePrefix(network.DefaultSubnet).Addr().Next()

// netCount is what a container network leaves on the host, for env e.
func (e *env) netCount() testutil.NetState {
	e.t.Helper()
	return testutil.CountNet(e.t, testutil.Net{Name: network.Default, Bridge: network.DefaultBridge,
		Subnet: network.DefaultSubnet, IPAMDir: network.DefaultIPAMDir, Root: e.root})
}

// runBg starts a foreground `ctr-lite run ARGS...` in the background (the
// built binary); the test ends it.
func (e *env) runBg(args ...string) *exec.Cmd {
	e.t.Helper()
	cmd := e.bin(context.Background(), append([]string{"run"}, args...)...)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// psRecords returns `ps -a --json`.
func (e *env) psRecords() []container.Container {
	e.t.Helper()
	var list []container.Container
	if err := json.Unmarshal([]byte(e.must("ps", "-a", "--json")), &list); err != nil {
		e.t.Fatal(err)
	}
	return list
}

// waitRunning waits until the container named name runs with an address.
func (e *env) waitRunning(name string) container.Container {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range e.psRecords() {
			if c.Name == name && c.Status == container.Running && c.IP != "" {
				return c
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("container %s not running with an address after 30s: %+v", name, e.psRecords())
	return container.Container{}
}

// httpGet fetches url, retrying until the deadline (the server may be starting).
func httpGet(t *testing.T, url string) (string, error) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var resp *http.Response
		if resp, err = client.Get(url); err != nil {
			continue
		}
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || rerr != nil {
			err = fmt.Errorf("GET %s: %s %v", url, resp.Status, rerr)
			continue
		}
		return string(b), nil
	}
	return "", err
}

// serveWWW is a container command serving the text ok-NAME on :80.
func serveWWW(name string) []string {
	return []string{"sh", "-c", "mkdir -p /www && echo ok-" + name + " > /www/index.html && exec httpd -f -p 80 -h /www"}
}

// stopRun ends a background run by killing its container (init ignores
// SIGTERM it has no handler for) and waits for the run to finish.
func (e *env) stopRun(cmd *exec.Cmd, name string) {
	e.t.Helper()
	e.must("kill", name)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		e.t.Fatalf("run of %s did not end after its container was killed", name)
	}
}

// TestRunPublishAndReach: on the default bridge, -p publishes a port on
// 127.0.0.1, a container reaches a server on the bridge's address and
// another container by its IP; ps --json shows the address and ports;
// once the containers are gone no veth, rule, lease or netns is left.
func TestRunPublishAndReach(t *testing.T) {
	e, bb := busyboxEnv(t)
	before := e.netCount()
	port := testutil.FreePort(t)
	web := e.runBg(append([]string{"--rm", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), bb}, serveWWW("web")...)...)
	c := e.waitRunning("web")
	if ip, err := netip.ParseAddr(c.IP); err != nil || !netip.MustParsePrefix(network.DefaultSubnet).Contains(ip) {
		t.Errorf("ps --json ip %q: not in %s", c.IP, network.DefaultSubnet)
	}
	if len(c.Ports) != 1 || c.Ports[0] != (network.Port{HostIP: "127.0.0.1", HostPort: port, ContainerPort: 80, Protocol: "tcp"}) {
		t.Errorf("ps --json ports %+v", c.Ports)
	}
	if c.Network != network.Default || c.NetNS == "" {
		t.Errorf("ps --json network %q netns %q", c.Network, c.NetNS)
	}

	// A server on the host, reached by the containers on the bridge's address.
	l, err := net.Listen("tcp", net.JoinHostPort(bridgeIP.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok-host") }))

	tests := []struct {
		name string
		get  func() (string, error)
		want string
	}{
		{"host GETs the published port", func() (string, error) { return httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port)) }, "ok-web\n"},
		{"container reaches the host on the bridge address", func() (string, error) {
			r := e.ctl("run", "--rm", bb, "wget", "-q", "-O", "-", "http://"+l.Addr().String()+"/")
			return r.out, fmt.Errorf("%s", r)
		}, "ok-host"},
		{"container reaches another by IP", func() (string, error) {
			r := e.ctl("run", "--rm", bb, "wget", "-q", "-O", "-", "http://"+c.IP+"/index.html")
			return r.out, fmt.Errorf("%s", r)
		}, "ok-web\n"},
		{"container under runc reaches another by IP", func() (string, error) {
			testutil.RequireTool(t, "runc", "runc")
			r := e.ctl("run", "--rm", "--runtime", "runc", bb, "wget", "-q", "-O", "-", "http://"+c.IP+"/index.html")
			return r.out, fmt.Errorf("%s", r)
		}, "ok-web\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := tc.get(); got != tc.want {
				t.Errorf("got %q, want %q: %v", got, tc.want, err)
			}
		})
	}
	e.stopRun(web, "web")
	if after := e.netCount(); after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
	if r := testutil.CNIRules(t, c.ID); len(r) != 0 {
		t.Errorf("iptables rules of %s left: %q", c.ShortID(), r)
	}
	if len(e.psRecords()) != 0 {
		t.Errorf("--rm left records: %+v", e.psRecords())
	}
}

// TestRunNetworkFiles: /etc/hosts maps the hostname and name to the
// container's address and has --add-host; --dns replaces the nameservers;
// on the host's network /etc/hosts is the host's.
func TestRunNetworkFiles(t *testing.T) {
	e, bb := busyboxEnv(t)
	before := e.netCount()
	out := e.must("run", "--rm", "--name", "files", "--hostname", "box", "--dns", "192.0.2.53", "--dns", "192.0.2.54",
		"--add-host", "db:10.1.2.3", bb, "sh", "-c", "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; ip -4 -o addr show eth0")
	parts := strings.Split(out, "---\n")
	if len(parts) != 3 {
		t.Fatalf("output %q", out)
	}
	hosts, resolv, addr := parts[0], parts[1], parts[2]
	f := strings.Fields(addr) // 2: eth0    inet 10.89.0.5/24 ...
	if len(f) < 4 {
		t.Fatalf("ip addr: %q", addr)
	}
	ip := strings.Split(f[3], "/")[0]
	for _, want := range []string{ip + "\tbox files\n", "10.1.2.3\tdb\n", "127.0.0.1\tlocalhost\n"} {
		if !strings.Contains(hosts, want) {
			t.Errorf("/etc/hosts lacks %q:\n%s", want, hosts)
		}
	}
	if !strings.HasPrefix(resolv, "nameserver 192.0.2.53\nnameserver 192.0.2.54\n") || strings.Count(resolv, "nameserver") != 2 {
		t.Errorf("resolv.conf with --dns:\n%s", resolv)
	}
	// Without --dns the container gets the host's servers, less loopback ones.
	out = e.must("run", "--rm", bb, "grep", "nameserver", "/etc/resolv.conf")
	if strings.Contains(out, "127.") || out == "" {
		t.Errorf("default resolv.conf on the bridge: %q", out)
	}
	out = e.must("run", "--rm", "--network", "host", "--add-host", "db:10.1.2.3", bb, "cat", "/etc/hosts")
	if !strings.Contains(out, "10.1.2.3\tdb\n") {
		t.Errorf("--network host /etc/hosts lacks --add-host:\n%s", out)
	}
	if after := e.netCount(); after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
}

// TestRunNetworkFlags: the default as root is the bridge; host and none
// keep today's behaviour; bad values are refused with 125 before
// anything is made.
func TestRunNetworkFlags(t *testing.T) {
	e, bb := busyboxEnv(t)
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"default is the bridge", []string{bb, "sh", "-c", "ls /sys/class/net | sort | tr '\\n' ' '"}, 0, "eth0 lo "},
		{"none", []string{"--network", "none", bb, "ls", "/sys/class/net"}, 0, "lo\n"},
		{"host", []string{"--network", "host", bb, "sh", "-c", "test -e /sys/class/net/ctrlite0 && echo shared"}, 0, "shared\n"},
		{"unknown network", []string{"--network", "nosuch", bb, "true"}, 125, ""},
		{"-p on the host's network", []string{"--network", "host", "-p", "8080:80", bb, "true"}, 125, ""},
		{"bad -p", []string{"-p", "80", bb, "true"}, 125, ""},
		{"bad --dns", []string{"--dns", "resolver", bb, "true"}, 125, ""},
		{"bad --add-host", []string{"--add-host", "db", bb, "true"}, 125, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.ctl(append([]string{"run", "--rm"}, tc.args...)...)
			if r.code != tc.code || (tc.code == 0 && r.out != tc.out) {
				t.Errorf("want exit %d and %q: %s", tc.code, tc.out, r)
			}
		})
	}
	if list := e.psRecords(); len(list) != 0 {
		t.Errorf("records left: %+v", list)
	}
	if b, err := filepathGlob(filepath.Join(e.config, "net.d", "*.conflist")); err != nil || len(b) != 1 {
		t.Errorf("net.d: %v %v, want the default conflist written", b, err)
	}
}

func filepathGlob(p string) ([]string, error) { return filepath.Glob(p) }

// TestRunNetworkAfterKill9: kill -9 of the ctr-lite run leaves its network
// (the veth, rules and lease stay with the netns file); rm -f, or gc for
// an exited container, detaches it, and running them again is fine. rm -f
// of a running container races its run's own detach: both end well.
func TestRunNetworkAfterKill9(t *testing.T) {
	e, bb := busyboxEnv(t)
	before := e.netCount()
	t.Run("rm -f while running", func(t *testing.T) {
		cmd := e.runBg("--name", "rmf", bb, "sleep", "1000")
		c := e.waitRunning("rmf")
		e.must("rm", "-f", "rmf")
		cmd.Wait()
		if after := e.netCount(); after != before {
			t.Errorf("rm -f left: before %+v, after %+v", before, after)
		}
		if r := testutil.CNIRules(t, c.ID); len(r) != 0 {
			t.Errorf("iptables rules of %s left: %q", c.ShortID(), r)
		}
	})
	for _, cleanup := range []string{"rm -f", "gc"} {
		t.Run("kill -9 then "+cleanup, func(t *testing.T) {
			name := "k9-" + strings.ReplaceAll(cleanup, " ", "")
			cmd := e.runBg("--name", name, bb, "sleep", "1000")
			c := e.waitRunning(name)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			// The container dies with its run (parent-death signal).
			testutil.Eventually(t, "the container to exit with its run", func() bool {
				r := e.psRecords()
				return len(r) == 1 && r[0].Status == container.Exited
			})
			if mid := e.netCount(); mid == before {
				t.Fatalf("kill -9 left nothing to clean: the test shows nothing (%+v)", mid)
			}
			if cleanup == "gc" {
				e.must("gc")
				e.must("gc")
				if r := e.psRecords(); len(r) != 1 || r[0].NetNS != "" || r[0].IP != "" {
					t.Errorf("record after gc: %+v", r)
				}
				if after := e.netCount(); after != before {
					t.Errorf("gc left: before %+v, after %+v", before, after)
				}
			}
			e.must("rm", "-f", name)
			if after := e.netCount(); after != before {
				t.Errorf("rm -f left: before %+v, after %+v", before, after)
			}
			if r := testutil.CNIRules(t, c.ID); len(r) != 0 {
				t.Errorf("iptables rules of %s left: %q", c.ShortID(), r)
			}
		})
	}
}

// TestRunNetworkParallel: 20 containers started at once get distinct
// addresses, and once stopped (and removed by --rm) leave nothing.
func TestRunNetworkParallel(t *testing.T) {
	e, bb := busyboxEnv(t)
	before := e.netCount()
	const n = 20
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.run("run", "-d", "--name", fmt.Sprintf("par%d", i), bb, "sleep", "1000")
			if r.code != 0 {
				t.Errorf("run -d par%d: %s", i, r)
			}
			ids[i] = strings.TrimSpace(r.out)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ips := map[string]string{}
	for i := range ids {
		c := e.waitRunning(fmt.Sprintf("par%d", i))
		if other, dup := ips[c.IP]; dup {
			t.Errorf("%s and %s both have %s", other, c.Name, c.IP)
		}
		ips[c.IP] = c.Name
	}
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.ctl("stop", "-t", "1", id); r.code != 0 {
				t.Errorf("stop %s: %s", id, r)
			}
			if r := e.ctl("rm", id); r.code != 0 {
				t.Errorf("rm %s: %s", id, r)
			}
		}()
	}
	wg.Wait()
	if after := e.netCount(); after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
	if list := e.psRecords(); len(list) != 0 {
		t.Errorf("records left: %d", len(list))
	}
}

// TestDetachedPublishStopRm is the issue's own case: `run -d -p
// PORT:80 busybox httpd -f` serves 127.0.0.1:PORT from the host; stop
// and rm leave no veth, rule, lease or netns behind.
func TestDetachedPublishStopRm(t *testing.T) {
	e, bb := busyboxEnv(t)
	before := e.netCount()
	port := testutil.FreePort(t)
	id := e.detached(append([]string{"--name", "dweb", "-p", fmt.Sprintf("%d:80", port), bb}, serveWWW("dweb")...)...)
	c := e.waitRunning("dweb")
	if got, err := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port)); got != "ok-dweb\n" {
		t.Errorf("GET 127.0.0.1:%d: %q, %v", port, got, err)
	}
	e.must("stop", id)
	if r := e.psRecords(); len(r) != 1 || r[0].Status != container.Exited || r[0].NetNS != "" || r[0].IP != "" {
		t.Errorf("after stop: %+v", r)
	}
	e.must("rm", id)
	if after := e.netCount(); after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
	if r := testutil.CNIRules(t, c.ID); len(r) != 0 {
		t.Errorf("iptables rules of %s left: %q", c.ShortID(), r)
	}
}

// TestNetworkCompletion: --network completes to bridge, host, none, the
// user-mode networks and the networks of <config>/net.d.
func TestNetworkCompletion(t *testing.T) {
	e := newEnv(t)
	testutil.WriteConflist(t, network.ConfDir(e.config), testutil.Net{Name: "mynet", Bridge: "mybr0", Subnet: "10.89.103.0/24", IPAMDir: t.TempDir()})
	out := e.must("__complete", "run", "--network", "")
	if got := strings.Join(strings.Fields(strings.Split(out, ":")[0]), " "); got != "bridge host none pasta slirp4netns mynet" {
		t.Errorf("completions %q", out)
	}
}

// TestRunNetworkPluginsMissing: without the CNI plugins the default
// network is one clear error (125), and nothing is left behind.
func TestRunNetworkPluginsMissing(t *testing.T) {
	e, bb := busyboxEnv(t)
	t.Setenv("CNI_PATH", t.TempDir())
	before := e.netCount()
	r := e.ctl("run", "--rm", bb, "true")
	if r.code != 125 || strings.Count(strings.TrimSpace(r.err), "\n") != 0 || !strings.Contains(r.err, `CNI plugin "bridge" not found`) {
		t.Errorf("want one line naming the missing plugin and exit 125: %s", r)
	}
	if after := e.netCount(); after != before {
		t.Errorf("left behind: before %+v, after %+v", before, after)
	}
	if list := e.psRecords(); len(list) != 0 {
		t.Errorf("records left: %+v", list)
	}
}
