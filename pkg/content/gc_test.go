package content

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/mediatype"
)

func TestGC(t *testing.T) {
	ctx := context.Background()
	for _, dry := range []bool{false, true} {
		t.Run(map[bool]string{false: "delete", true: "dry-run"}[dry], func(t *testing.T) {
			s := openStore(t)
			var keep, drop []ocispec.Descriptor

			// a plain OCI image, named
			m1, all1 := image(t, s, ocispec.MediaTypeImageManifest, 2)
			keep = append(keep, all1...)
			s.SetName(ctx, "example.com/plain:1", m1)

			// an OCI index -> two manifests -> layers, named by the index
			m2, all2 := image(t, s, ocispec.MediaTypeImageManifest, 1)
			m3, all3 := image(t, s, ocispec.MediaTypeImageManifest, 1)
			idx := putJSON(t, s, ocispec.MediaTypeImageIndex, map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageIndex, "manifests": []ocispec.Descriptor{m2, m3}})
			keep = append(append(append(keep, all2...), all3...), idx)
			s.SetName(ctx, "example.com/multi:1", idx)

			// a Docker manifest list -> Docker manifest, no mediaType in the list's body
			m4, all4 := image(t, s, mediatype.DockerManifest, 2)
			list := putJSON(t, s, mediatype.DockerManifestList, map[string]any{"schemaVersion": 2, "manifests": []ocispec.Descriptor{m4}})
			keep = append(append(keep, all4...), list)
			s.SetName(ctx, "example.com/docker:1", list)

			// an image whose name was removed, and a stray blob
			m5, all5 := image(t, s, ocispec.MediaTypeImageManifest, 2)
			s.SetName(ctx, "example.com/gone:1", m5)
			s.DeleteName(ctx, "example.com/gone:1")
			drop = append(drop, all5...)
			stray, _ := randomBlob(t, 500)
			drop = append(drop, put(t, s, "", stray))

			// an abandoned partial and one held by a live writer
			pdata, pdesc := randomBlob(t, 4000)
			w, _ := s.Writer(ctx, pdesc)
			w.Write(pdata[:1000])
			w.Close()
			hdata, hdesc := randomBlob(t, 4000)
			held, _ := s.Writer(ctx, hdesc)
			held.Write(hdata[:1000])
			defer held.Close()

			res, err := s.GC(ctx, GCOptions{DryRun: dry})
			if err != nil {
				t.Fatal(err)
			}
			var wantBytes int64 = 1000
			gone := map[digest.Digest]bool{}
			for _, b := range res.Blobs {
				gone[b.Digest] = true
			}
			for _, d := range drop {
				wantBytes += d.Size
				if !gone[d.Digest] {
					t.Errorf("unreachable %s not collected", d.Digest)
				}
				if _, err := s.Info(ctx, d.Digest); (err == nil) != dry {
					t.Errorf("unreachable %s: present=%v after gc (dry run %v)", d.Digest, err == nil, dry)
				}
			}
			for _, d := range keep {
				if gone[d.Digest] {
					t.Errorf("reachable %s (%s) collected", d.Digest, d.MediaType)
				}
				if _, err := s.Info(ctx, d.Digest); err != nil {
					t.Errorf("reachable %s: %v", d.Digest, err)
				}
			}
			if len(res.Blobs) != len(drop) || res.Partials != 1 || res.Bytes != wantBytes {
				t.Errorf("result: %d blobs, %d partials, %d bytes; want %d, 1, %d", len(res.Blobs), res.Partials, res.Bytes, len(drop), wantBytes)
			}
			if _, err := os.Stat(s.ingestPath(pdesc.Digest)); (err == nil) != dry {
				t.Errorf("abandoned partial present=%v (dry run %v)", err == nil, dry)
			}
			if _, err := os.Stat(s.ingestPath(hdesc.Digest)); err != nil {
				t.Errorf("held partial removed: %v", err)
			}
		})
	}
}

func TestGCWaitsForLease(t *testing.T) {
	s := openStore(t)
	release, err := s.Root().Lease(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// a second lease coexists with the first
	r2, err := s.Root().Lease(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r2()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.GC(ctx, GCOptions{}); !isErr(err, context.DeadlineExceeded) {
		t.Fatalf("GC under a lease: err = %v, want it to wait", err)
	}
	release()
	if _, err := s.GC(context.Background(), GCOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestFsck(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	m, all := image(t, s, ocispec.MediaTypeImageManifest, 2)
	s.SetName(ctx, "example.com/a:1", m)
	if probs, err := s.Fsck(ctx, false); err != nil || len(probs) != 0 {
		t.Fatalf("clean store: %v %v", probs, err)
	}
	layer := all[1]
	p := s.blobPath(layer.Digest)
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte("corrupted"), 0o644)
	tmp := filepath.Join(s.Root().Path(), "content", ".index.json.tmp-123")
	os.WriteFile(tmp, []byte("{"), 0o644)

	probs, err := s.Fsck(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, pr := range probs {
		found[pr.Path] = true
	}
	if !found[p] || !found[tmp] || len(probs) != 3 { // corrupt + size vs manifest + temp file
		t.Fatalf("problems = %v", probs)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal("fsck without repair changed the store")
	}
	if _, err := s.Fsck(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("repair kept the corrupt blob")
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatal("repair kept the temp file")
	}
	probs, _ = s.Fsck(ctx, false)
	if len(probs) != 1 || probs[0].Path != p {
		t.Fatalf("after repair, want only the missing layer reported: %v", probs)
	}
}

// Partials counts what partial downloads hold, and nothing once gc ran.
func TestPartials(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if n, b, err := s.Partials(); err != nil || n != 0 || b != 0 {
		t.Fatalf("empty store: %d partials, %d bytes, %v", n, b, err)
	}
	for _, k := range []int{1000, 2500} {
		data, desc := randomBlob(t, 4000)
		w, err := s.Writer(ctx, desc)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data[:k])
		w.Close()
	}
	if n, b, err := s.Partials(); err != nil || n != 2 || b != 3500 {
		t.Errorf("two partials: %d, %d bytes, %v; want 2, 3500", n, b, err)
	}
	if _, err := s.GC(ctx, GCOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, b, err := s.Partials(); err != nil || n != 0 || b != 0 {
		t.Errorf("after gc: %d partials, %d bytes, %v", n, b, err)
	}
}
