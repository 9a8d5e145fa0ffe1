package pipeline

import (
	"context"
	"errors"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctrlite/ctr-lite/internal/testimage"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/rootfs"
	"github.com/ctrlite/ctr-lite/pkg/snapshot"
)

func TestPullWithoutUnpackOnlyStores(t *testing.T) {
	st, reg, ref := setup(t)
	res, err := Pull(context.Background(), st, reg, ref, opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.Pull == nil || res.Pull.Fetched != 4 || res.Snapshots != nil {
		t.Fatalf("pull: %+v, snapshots %v; want 4 blobs fetched and no snapshots", res.Pull, res.Snapshots)
	}
	if res.Image.ManifestDesc.Digest != reg.img.ManifestDesc.Digest {
		t.Errorf("image %s, want %s", res.Image.ManifestDesc.Digest, reg.img.ManifestDesc.Digest)
	}
	if _, err := os.Stat(filepath.Join(st.Root().Path(), "snapshots")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a plain pull made the snapshots directory: %v", err)
	}
	if _, err := image.Load(context.Background(), st, ref, testimage.Platform); err != nil {
		t.Errorf("pulled image not stored: %v", err)
	}
}

func TestPullUnpackBuildsSnapshotsAndAlwaysPulls(t *testing.T) {
	st, reg, ref := setup(t)
	o := opts()
	o.Unpack = true
	res, err := Pull(context.Background(), st, reg, ref, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pull == nil || res.Snapshots == nil || res.Snapshots.Built != 3 {
		t.Fatalf("pull %+v, snapshots %+v: want a pull and 3 snapshots built", res.Pull, res.Snapshots)
	}
	b, err := os.ReadFile(filepath.Join(res.Snapshots.Dirs[2], "etc/os-release"))
	if err != nil || string(b) != "ID=changed\n" {
		t.Errorf("top snapshot etc/os-release = %q, %v", b, err)
	}
	before := reg.count()
	res, err = Pull(context.Background(), st, reg, ref, o)
	if err != nil {
		t.Fatal(err)
	}
	if reg.count() == before || !res.Pull.UpToDate() || res.Snapshots.Reused != 3 {
		t.Errorf("second pull: %d registry calls, %+v, %+v; want a resolve, nothing fetched, 3 reused",
			reg.count()-before, res.Pull, res.Snapshots)
	}
}

func TestFlattenPullsWhatIsNotStored(t *testing.T) {
	st, reg, ref := setup(t)
	dir := filepath.Join(t.TempDir(), "rootfs")
	res, err := Flatten(context.Background(), st, reg, ref, dir, opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.Pull == nil || res.Pull.Fetched != 4 || res.Snapshots != nil {
		t.Fatalf("pull %+v, snapshots %v: want 4 blobs fetched and no snapshots", res.Pull, res.Snapshots)
	}
	if res.Stats.Files != 3 {
		t.Errorf("stats %+v: want 3 files applied", res.Stats)
	}
	for name, want := range map[string]string{"etc/os-release": "ID=changed\n", "bin/app": "#!/bin/sh\necho hi\n"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
}

func TestStoredImageUsesNoNetwork(t *testing.T) {
	st, reg, ref := setup(t)
	if _, err := Pull(context.Background(), st, reg, ref, opts()); err != nil {
		t.Fatal(err)
	}
	res, err := Flatten(context.Background(), st, offline{}, ref, filepath.Join(t.TempDir(), "rootfs"), opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.Pull != nil || res.Image == nil {
		t.Errorf("flatten of a stored image: pull %+v, image %v; want no pull and the image", res.Pull, res.Image)
	}
	p, err := Prepare(context.Background(), st, offline{}, ref, opts())
	if err != nil {
		t.Fatal(err)
	}
	if p.Pull != nil || p.Snapshots == nil || p.Snapshots.Built != 3 {
		t.Errorf("prepare of a stored image: pull %+v, snapshots %+v; want no pull, 3 built", p.Pull, p.Snapshots)
	}
}

func TestNotStoredAndOfflineFails(t *testing.T) {
	st, _, ref := setup(t)
	res, err := Flatten(context.Background(), st, offline{}, ref, filepath.Join(t.TempDir(), "rootfs"), opts())
	if !errors.Is(err, errOffline) {
		t.Fatalf("flatten: %v; want the registry's error", err)
	}
	if res == nil || res.Image != nil {
		t.Errorf("flatten result %+v: want a Result without image", res)
	}
	if p, err := Prepare(context.Background(), st, offline{}, ref, opts()); !errors.Is(err, errOffline) || p != nil {
		t.Errorf("prepare: %v, %v; want the registry's error and no result", p, err)
	}
}

func TestTamperedLayerFailsWithThePullsError(t *testing.T) {
	for _, unpackToo := range []bool{false, true} {
		st, reg, ref := setup(t)
		reg.tamper = reg.img.Manifest.Layers[1].Digest
		o := opts()
		o.Unpack = unpackToo
		if _, err := Pull(context.Background(), st, reg, ref, o); !errors.Is(err, errdefs.ErrDigestMismatch) {
			t.Errorf("pull (unpack %v) of a tampered layer: %v; want a digest mismatch", unpackToo, err)
		}
		if _, err := Flatten(context.Background(), st, reg, ref, filepath.Join(t.TempDir(), "rootfs"), o); !errors.Is(err, errdefs.ErrDigestMismatch) {
			t.Errorf("flatten of a tampered layer: %v; want a digest mismatch", err)
		}
		if _, err := st.Get(context.Background(), ref.String()); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("a tampered image got a name: %v", err)
		}
	}
}

func TestPullErrorWinsOverConsumers(t *testing.T) {
	st, reg, ref := setup(t)
	reg.tamper = reg.img.Manifest.Layers[2].Digest
	mine := errors.New("consumer failed")
	// The consumer fails only once the failed pull cancelled it.
	err := with(context.Background(), st, reg, ref, false, opts().Pull, &Result{},
		func(ctx context.Context, _ *image.Image, _ content.Opener) error { <-ctx.Done(); return mine })
	if !errors.Is(err, errdefs.ErrDigestMismatch) {
		t.Errorf("pull and consumer failed: got %v, want the pull's digest mismatch", err)
	}
}

func TestConsumerErrorWinsOverTheCancelItCaused(t *testing.T) {
	st, reg, ref := setup(t)
	mine := errors.New("consumer failed")
	err := with(context.Background(), st, reg, ref, false, opts().Pull, &Result{},
		func(context.Context, *image.Image, content.Opener) error { return mine })
	if !errors.Is(err, mine) {
		t.Errorf("consumer failed first: got %v, want the consumer's error", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Flatten(context.Background(), st, reg, ref, dir, opts()); !errors.Is(err, rootfs.ErrNotEmpty) {
		t.Errorf("flatten of a missing image into a non-empty dir: %v; want %v", err, rootfs.ErrNotEmpty)
	}
}

// The snapshots Prepare builds are the snapshotter's.
func TestPrepareDirsAreSnapshots(t *testing.T) {
	st, reg, ref := setup(t)
	p, err := Prepare(context.Background(), st, reg, ref, opts())
	if err != nil {
		t.Fatal(err)
	}
	sn, err := snapshot.New(st)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range p.Snapshots.ChainIDs {
		if !sn.Exists(c) || sn.Dir(c) != p.Snapshots.Dirs[i] {
			t.Errorf("layer %d: chain %s not a complete snapshot at %s", i+1, c, p.Snapshots.Dirs[i])
		}
	}
	if p.Pull == nil {
		t.Error("prepare of a missing image: no pull result")
	}
}
