package image

import (
	"context"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// platformImage is a random image whose config says it is for p.
func platformImage(t *testing.T, p Platform) v1.Image {
	t.Helper()
	img := testImage(t, 1)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// A multi-platform image pulled for one platform: every reader picks the
// platform the same way, lists what is stored, and says how to get the rest.
func TestSelectAmongStoredPlatforms(t *testing.T) {
	m := newMemRegistry(t)
	amd64, arm64 := Platform{OS: "linux", Architecture: "amd64"}, Platform{OS: "linux", Architecture: "arm64"}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: platformImage(t, amd64), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: platformImage(t, arm64), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	ref := m.pushIndex(t, "multi:1", idx)
	idxDigest, _ := idx.Digest()
	st, rc := setup(t)
	ctx := context.Background()
	if _, err := Pull(ctx, st, rc, ref, PullOptions{Platform: arm64}); err != nil {
		t.Fatal(err)
	}
	img, err := Load(ctx, st, ref, arm64)
	if err != nil || img.Platform() != arm64 {
		t.Fatalf("Load(arm64) = %v, %v", img, err)
	}
	_, err = Load(ctx, st, ref, amd64)
	var nse *PlatformNotStoredError
	if !errors.As(err, &nse) || !errors.Is(err, ErrNotStored) {
		t.Fatalf("Load(amd64) err = %v, want a PlatformNotStoredError", err)
	}
	if len(nse.Stored) != 1 || nse.Stored[0] != arm64 || nse.Want != amd64 {
		t.Errorf("error says %+v", nse)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "linux/arm64") || !strings.Contains(msg, "pull --platform linux/amd64") {
		t.Errorf("error should be one line naming the stored platform and the fix: %q", msg)
	}
	if _, err := Load(ctx, st, ref, Platform{OS: "linux", Architecture: "s390x"}); !errors.Is(err, ErrPlatformNotFound) {
		t.Errorf("a platform the index lacks: err = %v", err)
	}
	check := func(want ...string) {
		t.Helper()
		list, err := List(ctx, st)
		if err != nil || len(list) != 1 {
			t.Fatalf("List = %v, %v", list, err)
		}
		s := list[0]
		if s.Digest.String() != idxDigest.String() || strings.Join(s.Platforms, ",") != strings.Join(want, ",") {
			t.Errorf("images shows %s %v, want the index %s and %v", s.Digest, s.Platforms, idxDigest, want)
		}
		var size int64
		target, _ := st.Get(ctx, s.Name)
		imgs, _ := Platforms(ctx, st, target)
		for _, img := range imgs {
			size += img.Size()
		}
		if s.Size != size || size < 4096 {
			t.Errorf("images size %d, want %d (the stored platforms)", s.Size, size)
		}
	}
	check("linux/arm64")
	if _, err := Pull(ctx, st, rc, ref, PullOptions{Platform: amd64}); err != nil {
		t.Fatal(err)
	}
	if img, err := Load(ctx, st, ref, Platform{}); err != nil || img.Platform() != amd64 {
		t.Errorf("Load(zero) = %v, %v; want the host's", img, err)
	}
	check("linux/amd64", "linux/arm64")
}

// Pulling a single-platform image for another platform works, and says so.
func TestPullSinglePlatformMismatch(t *testing.T) {
	m := newMemRegistry(t)
	ref := m.push(t, "amd:1", platformImage(t, Platform{OS: "linux", Architecture: "amd64"}))
	for _, tt := range []struct {
		p     Platform
		other bool
	}{
		{Platform{OS: "linux", Architecture: "arm64"}, true},
		{Platform{OS: "linux", Architecture: "amd64"}, false},
	} {
		st, rc := setup(t)
		res, err := Pull(context.Background(), st, rc, ref, PullOptions{Platform: tt.p})
		if err != nil {
			t.Fatal(err)
		}
		if res.OtherPlatform != tt.other {
			t.Errorf("pull for %s: OtherPlatform = %v, want %v", tt.p, res.OtherPlatform, tt.other)
		}
	}
}

// An image whose config names no platform is listed as "unknown" and
// pulled for any platform without a warning.
func TestImageWithoutPlatform(t *testing.T) {
	m := newMemRegistry(t)
	ref := m.push(t, "bare:1", testImage(t, 1))
	st, rc := setup(t)
	ctx := context.Background()
	res, err := Pull(ctx, st, rc, ref, PullOptions{Platform: Platform{OS: "linux", Architecture: "arm64"}})
	if err != nil || res.OtherPlatform {
		t.Fatalf("pull: %+v, %v", res, err)
	}
	list, err := List(ctx, st)
	if err != nil || len(list) != 1 || strings.Join(list[0].Platforms, ",") != "unknown" {
		t.Errorf("List = %+v, %v; want platforms [unknown]", list, err)
	}
}
