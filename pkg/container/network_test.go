package container

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/network"
)

// TestNetworkLeftByDeadRun: a container whose run died with its network
// attached (created, or exited) is detached by gc, or by rm, and the
// host is as before; a container a run still uses is left alone by gc.
func TestNetworkLeftByDeadRun(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	conf := t.TempDir()
	tests := []struct {
		name    string
		status  Status
		inUse   bool
		cleanup string // gc or rm
	}{
		{"created, gc", Created, false, "gc"},
		{"exited, gc", Exited, false, "gc"},
		{"exited, rm", Exited, false, "rm"},
		{"in use: gc leaves it", Exited, true, "gc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			root := filepath.Dir(s.dir)
			n := testutil.Net{Name: "ctrlite-ctrtest", Bridge: "ctrlitet2", Subnet: "10.89.102.0/24", IPAMDir: filepath.Join(root, "ipam"), Root: root}
			testutil.WriteConflist(t, network.ConfDir(conf), n)
			t.Cleanup(func() { exec.Command("ip", "link", "delete", n.Bridge).Run() })
			before := testutil.CountNet(t, n)
			c, err := s.Create(ctx, Container{Image: "busybox"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.inUse {
				release, err := s.Use(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				defer release()
			}
			o := network.Options{ConfDir: network.ConfDir(conf), Network: n.Name}
			if _, err := s.AttachNetwork(ctx, c.ID, o); err != nil {
				t.Fatal(err)
			}
			defer s.DetachNetwork(ctx, c.ID)
			if _, err := s.Update(ctx, c.ID, func(r *Container) error { r.Status = tc.status; return nil }); err != nil {
				t.Fatal(err)
			}
			if tc.cleanup == "gc" {
				if _, err := s.Collect(ctx, nil, false); err != nil {
					t.Fatal(err)
				}
				r, err := s.Load(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if tc.inUse {
					if r.NetNS == "" || !exists(r.NetNS) {
						t.Errorf("gc detached a container in use: %+v", r)
					}
					return
				}
				if r.NetNS != "" || r.IP != "" || exists(network.NSPath(s.Dir(c.ID))) {
					t.Errorf("after gc: %+v", r)
				}
			} else if err := s.Remove(ctx, c.ID, false); err != nil {
				t.Fatal(err)
			}
			if after := testutil.CountNet(t, n); after != before {
				t.Errorf("left behind: before %+v, after %+v", before, after)
			}
		})
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
