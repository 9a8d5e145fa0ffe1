package archive

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"io"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/image"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ExportOptions choose what Export writes.
type ExportOptions struct {
	// Format is "oci", an oci-archive (an OCI image layout in a tar), or
	// "docker", what Docker 25+ `docker save` writes: the same OCI layout
	// plus a classic manifest.json (Config, RepoTags, Layers) that docker
	// load, podman load and skopeo's docker-archive read.
	Format string
	// Platform, when set, exports only that platform of a multi-platform
	// image; it must be stored. Unset, the docker format exports the host
	// platform (one image per name is all it holds), and the oci format
	// every platform that is stored (see Export).
	Platform image.Platform
}

// Export writes the named images to w as a tarball. An archive never
// names a blob it does not hold: of a multi-platform image only the stored
// platforms are exported, as the original index when every platform is
// stored, else as the one stored manifest, else as a new index naming only
// the stored ones. A platform asked for that is not stored is an error
// saying which are (image.PlatformNotStoredError). Every blob is
// re-verified as it is written.
func Export(ctx context.Context, st *content.Store, names []string, w io.Writer, opts ExportOptions) error {
	format := opts.Format
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
		if format == "docker" || opts.Platform.OS != "" {
			img, err := image.Select(ctx, st, name, target, opts.Platform)
			if nse := (*image.PlatformNotStoredError)(nil); errors.As(err, &nse) {
				return fmt.Errorf("export: %w", err) // it names the image
			}
			if err != nil {
				return fmt.Errorf("export %s: %w", name, err)
			}
			target = img.ManifestDesc
			if err := e.writeTree(ctx, target); err != nil {
				return fmt.Errorf("export %s: %w", name, err)
			}
		} else if target, err = e.writeStored(ctx, target); err != nil {
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

// writeTree writes d and every blob it names; all must be stored.
func (e *exporter) writeTree(ctx context.Context, d ocispec.Descriptor) error {
	if e.written[d.Digest] {
		return nil
	}
	if mediatype.IsIndex(d.MediaType) || mediatype.IsManifest(d.MediaType) {
		_, kids, err := e.readJSON(ctx, d)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := e.writeTree(ctx, k); err != nil {
				return err
			}
		}
	}
	return e.writeBlob(ctx, d)
}

// writeStored writes what of d is stored, and returns the descriptor the
// archive's index.json names for it: d itself when all of it is stored;
// for an index of which only some platforms are, the one stored manifest
// or a new index naming the stored ones.
func (e *exporter) writeStored(ctx context.Context, d ocispec.Descriptor) (ocispec.Descriptor, error) {
	if !mediatype.IsIndex(d.MediaType) || e.complete(ctx, d, 0) {
		return d, e.writeTree(ctx, d)
	}
	imgs, err := image.Platforms(ctx, e.st, d)
	if err != nil {
		return d, err
	}
	var kids []ocispec.Descriptor
	for _, img := range imgs {
		if e.complete(ctx, img.ManifestDesc, 0) {
			kids = append(kids, img.ManifestDesc)
		}
	}
	switch len(kids) {
	case 0:
		return d, fmt.Errorf("index %s: no platform of it is stored whole (pull one first): %w", d.Digest, image.ErrNotStored)
	case 1:
		return kids[0], e.writeTree(ctx, kids[0])
	}
	raw, _, err := e.readJSON(ctx, d)
	if err != nil {
		return d, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return d, fmt.Errorf("index %s: %w", d.Digest, err)
	}
	idx.Manifests = kids
	if raw, err = json.Marshal(idx); err != nil {
		return d, err
	}
	for _, k := range kids {
		if err := e.writeTree(ctx, k); err != nil {
			return d, err
		}
	}
	sub := ocispec.Descriptor{MediaType: d.MediaType, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
	if err := e.writeFile(blobName(sub.Digest), raw); err != nil {
		return d, err
	}
	e.written[sub.Digest] = true
	return sub, nil
}

// complete reports whether d and every blob under it are stored.
func (e *exporter) complete(ctx context.Context, d ocispec.Descriptor, depth int) bool {
	if _, err := e.st.Info(ctx, d.Digest); err != nil || depth > 4 {
		return false
	}
	if !mediatype.IsIndex(d.MediaType) && !mediatype.IsManifest(d.MediaType) {
		return true
	}
	_, kids, err := e.readJSON(ctx, d)
	if err != nil {
		return false
	}
	for _, k := range kids {
		if !e.complete(ctx, k, depth+1) {
			return false
		}
	}
	return true
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
	return e.writeFile(name, data)
}

func (e *exporter) writeFile(name string, data []byte) error {
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := e.tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := e.tw.Write(data)
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
