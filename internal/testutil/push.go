package testutil

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func encodeAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// RemoteOptions are ggcr remote options for talking to reg directly:
// its CA trusted and its htpasswd credentials, if any.
func (r *Registry) RemoteOptions() []remote.Option {
	auth := authn.Anonymous
	if r.User != "" {
		auth = authn.FromConfig(authn.AuthConfig{Username: r.User, Password: r.Password})
	}
	return []remote.Option{remote.WithAuth(auth), remote.WithTransport(r.Transport())}
}

// Ref parses "repo:tag" (or repo@digest) as a reference on reg.
func (r *Registry) Ref(t testing.TB, repoTag string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(r.Host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatalf("reference %q: %v", repoTag, err)
	}
	return ref
}

// PushImage pushes img to reg as repoTag (e.g. "library/alpine:3.20").
func PushImage(t testing.TB, reg *Registry, repoTag string, img v1.Image) {
	t.Helper()
	if err := remote.Write(reg.Ref(t, repoTag), img, reg.RemoteOptions()...); err != nil {
		t.Fatalf("push %s to %s: %v", repoTag, reg.Host, err)
	}
}

// PushIndex pushes an image index (all its children) to reg as repoTag.
func PushIndex(t testing.TB, reg *Registry, repoTag string, idx v1.ImageIndex) {
	t.Helper()
	if err := remote.WriteIndex(reg.Ref(t, repoTag), idx, reg.RemoteOptions()...); err != nil {
		t.Fatalf("push index %s to %s: %v", repoTag, reg.Host, err)
	}
}

// PushLayout pushes an OCI layout directory (e.g. the corpus busybox or
// Debian image) to reg as repoTag. A layout whose index.json lists one image
// manifest is pushed as that image; otherwise the whole index is pushed.
func PushLayout(t testing.TB, reg *Registry, layoutDir, repoTag string) {
	t.Helper()
	idx, im := layoutIndex(t, layoutDir)
	if len(im.Manifests) == 1 && im.Manifests[0].MediaType.IsImage() {
		img, err := idx.Image(im.Manifests[0].Digest)
		if err != nil {
			t.Fatalf("layout %s: %v", layoutDir, err)
		}
		PushImage(t, reg, repoTag, img)
		return
	}
	PushIndex(t, reg, repoTag, idx)
}

// layoutIndex opens an OCI layout directory's index.
func layoutIndex(t testing.TB, layoutDir string) (v1.ImageIndex, *v1.IndexManifest) {
	t.Helper()
	p, err := layout.FromPath(layoutDir)
	if err != nil {
		t.Fatalf("layout %s: %v", layoutDir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatalf("layout %s: %v", layoutDir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatalf("layout %s: %v", layoutDir, err)
	}
	return idx, im
}

// LayoutImage returns the single image of an OCI layout directory.
func LayoutImage(t testing.TB, layoutDir string) v1.Image {
	t.Helper()
	idx, im := layoutIndex(t, layoutDir)
	if len(im.Manifests) == 0 {
		t.Fatalf("layout %s: no manifests", layoutDir)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatalf("layout %s: %v", layoutDir, err)
	}
	return img
}

// AlpineImage is Image(t, Alpine).
func AlpineImage(t testing.TB) v1.Image {
	t.Helper()
	return Image(t, Alpine)
}

// String names the registry in test output.
func (r *Registry) String() string { return fmt.Sprintf("registry %s", r.URL) }

// LayoutRefName is the reference name (org.opencontainers.image.ref.name)
// of an OCI layout directory's first image.
func LayoutRefName(t testing.TB, layoutDir string) string {
	t.Helper()
	_, im := layoutIndex(t, layoutDir)
	if len(im.Manifests) == 0 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] == "" {
		t.Fatalf("layout %s: first image has no reference name", layoutDir)
	}
	return im.Manifests[0].Annotations["org.opencontainers.image.ref.name"]
}

// DockerSave writes img as a docker-save tarball tagged tag (e.g.
// "example.com/saved:1") in a temp dir and returns its path.
func DockerSave(t testing.TB, img v1.Image, tag string) string {
	t.Helper()
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatalf("tag %q: %v", tag, err)
	}
	p := filepath.Join(t.TempDir(), "save.tar")
	if err := tarball.WriteToFile(p, ref, img); err != nil {
		t.Fatalf("docker-save tarball: %v", err)
	}
	return p
}

// TarFile writes a tar file of the given regular files (name -> content)
// in a temp dir and returns its path: for archives that are not images.
func TarFile(t testing.TB, files map[string]string) string {
	t.Helper()
	var es []Entry
	for n, body := range files {
		es = append(es, File(n, body))
	}
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	p := filepath.Join(t.TempDir(), "files.tar")
	if err := os.WriteFile(p, Layer(t, es), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
