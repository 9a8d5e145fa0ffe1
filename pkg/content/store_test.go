package content

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
)

func TestOpenCreatesLayout(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(root)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("root mode %v, err %v; want 0700", fi.Mode(), err)
	}
	for _, p := range []string{"content/oci-layout", "content/index.json", "content/blobs/sha256", "ingest", "locks"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	var idx ocispec.Index
	data, _ := os.ReadFile(filepath.Join(root, "content/index.json"))
	if err := json.Unmarshal(data, &idx); err != nil || idx.SchemaVersion != 2 {
		t.Fatalf("index.json %s: %v", data, err)
	}
	if _, err := Open(root); err != nil { // reopening keeps it
		t.Fatal(err)
	}
	if s.Root().Path() != root {
		t.Fatalf("Root() = %s, want %s", s.Root().Path(), root)
	}
}

func TestWriteBlob(t *testing.T) {
	ctx := context.Background()
	data, desc := randomBlob(t, 3000)
	tests := []struct {
		name string
		desc ocispec.Descriptor
		data []byte
		want error
	}{
		{"ok", desc, data, nil},
		{"empty blob", ocispec.Descriptor{Digest: digest.FromBytes(nil), Size: 0}, nil, nil},
		{"flipped byte", desc, flip(data, 1500), errdefs.ErrDigestMismatch},
		{"short", desc, data[:2999], errdefs.ErrSizeMismatch},
		{"long", desc, append(append([]byte{}, data...), 'x'), errdefs.ErrSizeMismatch},
		{"declared size too small", ocispec.Descriptor{Digest: desc.Digest, Size: 10}, data, errdefs.ErrSizeMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			err := s.WriteBlob(ctx, tc.desc, bytes.NewReader(tc.data))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(s.blobPath(tc.desc.Digest))
				if err != nil || !bytes.Equal(got, tc.data) {
					t.Fatalf("stored blob differs (err %v)", err)
				}
				if in, err := s.Info(ctx, tc.desc.Digest); err != nil || in.Size != tc.desc.Size {
					t.Fatalf("Info = %+v, %v", in, err)
				}
				return
			}
			if !isErr(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if _, err := s.Info(ctx, tc.desc.Digest); !isErr(err, errdefs.ErrNotFound) {
				t.Fatalf("bad blob visible: %v", err)
			}
			if n := countFiles(t, filepath.Join(s.Root().Path(), "content/blobs/sha256")); n != 0 {
				t.Fatalf("%d files in blobs/", n)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 0xff
	return c
}

func countFiles(t testing.TB, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestWriterExistsAndResume(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	data, desc := randomBlob(t, 10000)

	w, err := s.Writer(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:4000]); err != nil {
		t.Fatal(err)
	}
	w.Close() // interrupted: partial kept

	w, err = s.Writer(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	if w.Offset() != 4000 {
		t.Fatalf("Offset = %d, want 4000", w.Offset())
	}
	if _, err := w.Write(data[4000:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := s.Writer(ctx, desc); !isErr(err, errdefs.ErrExists) {
		t.Fatalf("second Writer err = %v, want errdefs.ErrExists", err)
	}
	if err := s.WriteBlob(ctx, desc, bytes.NewReader(data)); err != nil {
		t.Fatalf("WriteBlob of a present blob: %v", err)
	}
	if n := countFiles(t, filepath.Join(s.Root().Path(), "ingest")); n != 0 {
		t.Fatalf("%d files left in ingest", n)
	}
}

func TestWriterReset(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	data, desc := randomBlob(t, 5000)
	w, err := s.Writer(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write(data[:100])
	// a registry ignored our Range: start over with the full body
	if err := w.Reset(); err != nil {
		t.Fatal(err)
	}
	if w.Offset() != 0 {
		t.Fatalf("Offset after Reset = %d", w.Offset())
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWriterWaitsForHolder(t *testing.T) {
	s := openStore(t)
	data, desc := randomBlob(t, 100)
	w, err := s.Writer(context.Background(), desc)
	if err != nil {
		t.Fatal(err)
	}
	// While one writer holds the blob, another is cancellable.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Writer(ctx, desc); !isErr(err, context.DeadlineExceeded) {
		t.Fatalf("blocked Writer err = %v, want deadline exceeded", err)
	}
	// And once the first commits, the waiter is told it exists.
	done := make(chan error, 1)
	go func() {
		_, err := s.Writer(context.Background(), desc)
		done <- err
	}()
	w.Write(data)
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := <-done; !isErr(err, errdefs.ErrExists) {
		t.Fatalf("waiting Writer err = %v, want errdefs.ErrExists", err)
	}
}

func TestPartialGarbageIsRejected(t *testing.T) {
	// A tampered partial (bytes changed on disk between attempts) fails
	// the digest check at commit, and nothing reaches blobs/.
	ctx := context.Background()
	s := openStore(t)
	data, desc := randomBlob(t, 2000)
	w, _ := s.Writer(ctx, desc)
	w.Write(data[:1000])
	w.Close()
	if err := os.WriteFile(s.ingestPath(desc.Digest), flip(data[:1000], 3), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := s.Writer(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[1000:])
	if err := w.Commit(ctx); !isErr(err, errdefs.ErrDigestMismatch) {
		t.Fatalf("Commit err = %v, want errdefs.ErrDigestMismatch", err)
	}
	w.Close()
	if _, err := s.Info(ctx, desc.Digest); !isErr(err, errdefs.ErrNotFound) {
		t.Fatal("tampered blob was committed")
	}
	if _, err := os.Stat(s.ingestPath(desc.Digest)); !os.IsNotExist(err) {
		t.Fatal("tampered partial survived")
	}
	// the next attempt starts from zero and succeeds
	if err := s.WriteBlob(ctx, desc, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

func TestReadBlob(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	data := []byte(`{"schemaVersion":2}`)
	desc := put(t, s, ocispec.MediaTypeImageManifest, data)
	missing := ocispec.Descriptor{Digest: digest.FromString("nope"), Size: 4}
	tests := []struct {
		name string
		desc ocispec.Descriptor
		max  int64
		want error
	}{
		{"ok", desc, 1 << 20, nil},
		{"too large", desc, 5, errdefs.ErrTooLarge},
		{"descriptor lies about size", ocispec.Descriptor{Digest: desc.Digest, Size: 3}, 1 << 20, errdefs.ErrSizeMismatch},
		{"missing", missing, 1 << 20, errdefs.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ReadBlob(ctx, tc.desc, tc.max)
			if tc.want != nil {
				if !isErr(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("ReadBlob = %q, %v", got, err)
			}
		})
	}
	// a blob changed on disk after commit is caught on read
	p := s.blobPath(desc.Digest)
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte(`{"schemaVersion":3}`), 0o644)
	if _, err := s.ReadBlob(ctx, desc, 1<<20); !isErr(err, errdefs.ErrDigestMismatch) {
		t.Fatalf("tampered ReadBlob err = %v", err)
	}
}

func TestNames(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	a, _ := image(t, s, ocispec.MediaTypeImageManifest, 1)
	b, _ := image(t, s, mediatype.DockerManifest, 1)
	steps := []struct {
		op, name string
		desc     ocispec.Descriptor
		want     []string // names after the step
		err      error
	}{
		{"set", "docker.io/library/a:1", a, []string{"docker.io/library/a:1"}, nil},
		{"set", "docker.io/library/b:1", b, []string{"docker.io/library/a:1", "docker.io/library/b:1"}, nil},
		{"set", "docker.io/library/a:1", b, []string{"docker.io/library/a:1", "docker.io/library/b:1"}, nil},
		{"delete", "docker.io/library/b:1", ocispec.Descriptor{}, []string{"docker.io/library/a:1"}, nil},
		{"delete", "docker.io/library/b:1", ocispec.Descriptor{}, []string{"docker.io/library/a:1"}, errdefs.ErrNotFound},
	}
	for i, st := range steps {
		t.Run(fmt.Sprintf("%d-%s-%s", i, st.op, st.name), func(t *testing.T) {
			var err error
			if st.op == "set" {
				err = s.SetName(ctx, st.name, st.desc)
			} else {
				err = s.DeleteName(ctx, st.name)
			}
			if !isErr(err, st.err) {
				t.Fatalf("err = %v, want %v", err, st.err)
			}
			list, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range list {
				got = append(got, n.Name)
			}
			if fmt.Sprint(got) != fmt.Sprint(st.want) {
				t.Fatalf("names = %v, want %v", got, st.want)
			}
		})
	}
	got, err := s.Get(ctx, "docker.io/library/a:1")
	if err != nil || got.Digest != b.Digest {
		t.Fatalf("Get = %v, %v; want the re-pointed target %s", got.Digest, err, b.Digest)
	}
	if got.Annotations[AnnotationRefName] != "docker.io/library/a:1" || got.Annotations[AnnotationImageName] != "docker.io/library/a:1" {
		t.Fatalf("annotations = %v", got.Annotations)
	}
	if _, err := s.Get(ctx, "docker.io/library/zz:1"); !isErr(err, errdefs.ErrNotFound) {
		t.Fatalf("Get missing err = %v", err)
	}
}

func TestWalk(t *testing.T) {
	s := openStore(t)
	_, all := image(t, s, ocispec.MediaTypeImageManifest, 3)
	want := map[digest.Digest]int64{}
	for _, d := range all {
		want[d.Digest] = d.Size
	}
	os.WriteFile(filepath.Join(s.Root().Path(), "content/blobs/sha256/not-a-digest"), nil, 0o644)
	got := map[digest.Digest]int64{}
	if err := s.Walk(context.Background(), func(in Info) error { got[in.Digest] = in.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Walk = %v, want %v", got, want)
	}
	stop := io.EOF
	if err := s.Walk(context.Background(), func(Info) error { return stop }); err != stop {
		t.Fatalf("Walk did not return fn's error: %v", err)
	}
}

// TestStoredBlobSizeMismatch checks a descriptor naming a stored blob's
// digest with another size is refused, not taken as "already there".
func TestStoredBlobSizeMismatch(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	data, desc := randomBlob(t, 1000)
	if err := s.WriteBlob(ctx, desc, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{999, 1001, 1 << 62} {
		bad := desc
		bad.Size = size
		if _, err := s.Writer(ctx, bad); !isErr(err, errdefs.ErrSizeMismatch) {
			t.Errorf("size %d: Writer err = %v, want errdefs.ErrSizeMismatch", size, err)
		}
		if err := s.WriteBlob(ctx, bad, bytes.NewReader(data)); !isErr(err, errdefs.ErrSizeMismatch) {
			t.Errorf("size %d: WriteBlob err = %v, want errdefs.ErrSizeMismatch", size, err)
		}
		if _, err := s.Opener()(ctx, bad); !isErr(err, errdefs.ErrSizeMismatch) {
			t.Errorf("size %d: Opener err = %v, want errdefs.ErrSizeMismatch", size, err)
		}
	}
	rc, err := s.Opener()(ctx, desc)
	if err != nil {
		t.Fatalf("Opener with the right size: %v", err)
	}
	rc.Close()
}
