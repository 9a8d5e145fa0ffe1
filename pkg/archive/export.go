package archive

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Export writes the named images to w as a tarball. Format "oci" is an
// oci-archive (an OCI image layout in a tar). Format "docker" is what
// Docker 25+ `docker save` writes: the same OCI layout plus a classic
// manifest.json (Config, RepoTags, Layers) that docker load, podman load
// and skopeo's docker-archive read; a multi-platform image is exported as
// its manifest for the host platform (or the first one stored).
// Every blob is re-verified as it is written.
func Export(ctx context.Context, st *content.Store, names []string, w io.Writer, format string) error {
	if format != "docker" && format != "oci" {
		return fmt.Errorf("export: %q: %w", format, ErrUnknownFormatName)
	}
	if len(names) == 0 {
		return fmt.Errorf("export: no images given")
	}
	release, err := st.Root().Lease(ctx) // nothing we export may be collected meanwhile
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer release()
	e := &exporter{st: st, tw: tar.NewWriter(w), written: map[digest.Digest]bool{}}
	var index []ocispec.Descriptor
	var docker []dockerManifest
	byManifest := map[digest.Digest]int{} // manifest -> entry in docker
	for _, name := range names {
		if full, err := normalize(name); err == nil {
			name = full // "busybox" means docker.io/library/busybox:latest
		}
		target, err := st.Get(ctx, name)
		if err != nil {
			return fmt.Errorf("export %s: %w", name, err)
		}
		if format == "docker" {
			target, err = e.platformManifest(ctx, target)
			if err != nil {
				return fmt.Errorf("export %s: %w", name, err)
			}
		}
		if err := e.writeTree(ctx, target, true); err != nil {
			return fmt.Errorf("export %s: %w", name, err)
		}
		d := ocispec.Descriptor{MediaType: target.MediaType, Digest: target.Digest, Size: target.Size, Platform: target.Platform,
			Annotations: map[string]string{content.AnnotationImageName: name, ocispec.AnnotationRefName: name}}
		index = append(index, d)
		if format != "docker" {
			continue
		}
		tag := dockerTag(name)
		if i, ok := byManifest[target.Digest]; ok {
			if tag != "" {
				docker[i].RepoTags = append(docker[i].RepoTags, tag)
			}
			continue
		}
		dm, err := e.dockerEntry(ctx, target)
		if err != nil {
			return fmt.Errorf("export %s: %w", name, err)
		}
		if tag != "" {
			dm.RepoTags = []string{tag}
		}
		byManifest[target.Digest] = len(docker)
		docker = append(docker, dm)
	}
	if err := e.writeJSON("oci-layout", ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: index}
	idx.SchemaVersion = 2
	if err := e.writeJSON("index.json", idx); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if format == "docker" {
		if err := e.writeJSON("manifest.json", docker); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	if err := e.tw.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// dockerTag is the familiar name:tag docker wants in RepoTags, or "" for
// a reference without a tag.
func dockerTag(name string) string {
	r, err := reference.Parse(name)
	if err != nil || r.Tag() == "" {
		return ""
	}
	return r.WithDigest("").Familiar()
}

type exporter struct {
	st      *content.Store
	tw      *tar.Writer
	written map[digest.Digest]bool
}

func (e *exporter) readJSON(ctx context.Context, d ocispec.Descriptor) ([]byte, []ocispec.Descriptor, error) {
	data, err := e.st.ReadBlob(ctx, d, mediatype.MaxManifestSize)
	if err != nil {
		return nil, nil, err
	}
	kids, err := content.Children(d, data)
	return data, kids, err
}

// platformManifest resolves an index to the manifest for the host
// platform, else the first manifest present in the store.
func (e *exporter) platformManifest(ctx context.Context, d ocispec.Descriptor) (ocispec.Descriptor, error) {
	for depth := 0; mediatype.IsIndex(d.MediaType) && depth < 4; depth++ {
		_, kids, err := e.readJSON(ctx, d)
		if err != nil {
			return d, err
		}
		var pick *ocispec.Descriptor
		for i, k := range kids {
			if _, err := e.st.Info(ctx, k.Digest); err != nil {
				continue
			}
			if k.Platform != nil && k.Platform.OS == runtime.GOOS && k.Platform.Architecture == runtime.GOARCH {
				pick = &kids[i]
				break
			}
			if pick == nil {
				pick = &kids[i]
			}
		}
		if pick == nil {
			return d, fmt.Errorf("index %s: no manifest of it is stored", d.Digest)
		}
		d = *pick
	}
	if !mediatype.IsManifest(d.MediaType) {
		return d, fmt.Errorf("%s: not an image manifest (%s)", d.Digest, d.MediaType)
	}
	return d, nil
}

// writeTree writes d and its children. Children of an index that are not
// stored (platforms never pulled) are left out.
func (e *exporter) writeTree(ctx context.Context, d ocispec.Descriptor, required bool) error {
	if e.written[d.Digest] {
		return nil
	}
	if _, err := e.st.Info(ctx, d.Digest); err != nil {
		if !required {
			return nil
		}
		return err
	}
	if mediatype.IsIndex(d.MediaType) || mediatype.IsManifest(d.MediaType) {
		_, kids, err := e.readJSON(ctx, d)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := e.writeTree(ctx, k, !mediatype.IsIndex(d.MediaType)); err != nil {
				return err
			}
		}
	}
	return e.writeBlob(ctx, d)
}

// writeBlob copies one blob into the tar, hashing it on the way: a blob
// corrupted on disk fails the export instead of being shipped.
func (e *exporter) writeBlob(ctx context.Context, d ocispec.Descriptor) error {
	f, err := e.st.Open(ctx, d.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: "blobs/sha256/" + d.Digest.Encoded(), Mode: 0o644, Size: fi.Size(), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := e.tw.WriteHeader(hdr); err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(e.tw, h), f); err != nil {
		return err
	}
	if got := digest.NewDigest(digest.SHA256, h); got != d.Digest {
		return fmt.Errorf("blob %s: stored content hashes to %s (run fsck): %w", d.Digest, got, errdefs.ErrDigestMismatch)
	}
	e.written[d.Digest] = true
	return nil
}

func (e *exporter) writeJSON(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := e.tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = e.tw.Write(data)
	return err
}

// dockerEntry is the manifest.json entry for an image manifest.
func (e *exporter) dockerEntry(ctx context.Context, m ocispec.Descriptor) (dockerManifest, error) {
	data, err := e.st.ReadBlob(ctx, m, mediatype.MaxManifestSize)
	if err != nil {
		return dockerManifest{}, err
	}
	var man ocispec.Manifest
	if err := json.Unmarshal(data, &man); err != nil {
		return dockerManifest{}, fmt.Errorf("manifest %s: %w", m.Digest, err)
	}
	dm := dockerManifest{Config: "blobs/sha256/" + man.Config.Digest.Encoded()}
	for _, l := range man.Layers {
		dm.Layers = append(dm.Layers, "blobs/sha256/"+l.Digest.Encoded())
	}
	return dm, nil
}
