package gc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testimage"
	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/ctrlite/ctr-lite/pkg/snapshot"
)

// root is a data root with its real parts, as the CLI opens them.
type root struct {
	r  *dataroot.Root
	st *content.Store
	sn *snapshot.Snapshotter
	cs *container.Store
}

func (x root) parts() []dataroot.Part { return []dataroot.Part{x.st, x.sn, x.cs} }

func openRoot(t *testing.T) root {
	t.Helper()
	r, err := dataroot.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st, err := content.New(r)
	if err != nil {
		t.Fatal(err)
	}
	sn, err := snapshot.New(st)
	if err != nil {
		t.Fatal(err)
	}
	return root{r: r, st: st, sn: sn, cs: container.NewStore(r)}
}

// count is what Collect said it freed of one kind.
func count(res []Freed, what string) int {
	n := 0
	for _, p := range res {
		for _, c := range p.Counts {
			if c.What == what {
				n += c.N
			}
		}
	}
	return n
}

// TestCollectKeepsWhatContainersUse: after the image is removed, its
// blobs go but the snapshots a container record uses stay; when the
// record goes too, the snapshots go.
func TestCollectKeepsWhatContainersUse(t *testing.T) {
	testutil.RequireRoot(t)
	x := openRoot(t)
	ctx := context.Background()
	img := testimage.Store(t, x.st, "example.com/gc:1", [][]byte{
		testutil.Layer(t, []testutil.Entry{testutil.File("a", "one")}),
		testutil.Layer(t, []testutil.Entry{testutil.File("b", "two")}),
	})
	prep, err := x.sn.Prepare(ctx, img, snapshot.PrepareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var chains []string
	for _, c := range prep.ChainIDs {
		chains = append(chains, c.String())
	}
	c, err := x.cs.Create(ctx, container.Container{Image: img.Name, Chains: chains})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.st.DeleteName(ctx, img.Name); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name                 string
		dryRun, removeRecord bool
		blobs, snapshots     int
		snapshotsLeft        bool
	}{
		{"dry run names the image's blobs only", true, false, 4, 0, true}, // manifest, config, two layers
		{"gc removes the blobs, keeps the container's snapshots", false, false, 4, 0, true},
		{"without the record the snapshots go", false, true, 0, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.removeRecord {
				if err := x.cs.Remove(ctx, c.ID, false); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Collect(ctx, x.r, x.parts(), tt.dryRun)
			if err != nil {
				t.Fatal(err)
			}
			if got := count(res, "blobs"); got != tt.blobs {
				t.Errorf("blobs freed = %d, want %d", got, tt.blobs)
			}
			if got := count(res, "snapshots"); got != tt.snapshots {
				t.Errorf("snapshots freed = %d, want %d", got, tt.snapshots)
			}
			for _, ch := range prep.ChainIDs {
				if x.sn.Exists(ch) != tt.snapshotsLeft {
					t.Errorf("snapshot %s exists = %v, want %v", ch, x.sn.Exists(ch), tt.snapshotsLeft)
				}
			}
		})
	}
}

// TestCollectWaitsForLeases: gc of the whole root waits for a pull's lease.
func TestCollectWaitsForLeases(t *testing.T) {
	x := openRoot(t)
	release, err := x.r.Lease(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Collect(ctx, x.r, x.parts(), false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Collect under a lease: err = %v, want it to wait", err)
	}
	release()
	if _, err := Collect(context.Background(), x.r, x.parts(), false); err != nil {
		t.Fatal(err)
	}
}
