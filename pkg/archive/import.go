package archive

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/compression"
	"github.com/ctrlite/ctr-lite/pkg/content"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxConfigSize caps an image config read from an archive.
const maxConfigSize = 16 << 20

// Import stores the images in path (a docker-save tarball, an oci-archive
// tarball or an OCI layout directory) and names them after their RepoTags
// or index.json name annotations. Every blob is checked against its
// digest. An image without a name is stored and returned with Name ""
// (like docker's dangling images, the next gc removes it).
func Import(ctx context.Context, st *content.Store, p string) ([]content.Named, error) {
	release, err := st.Root().Lease(ctx)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", p, err)
	}
	defer release()
	src, err := openSource(ctx, st, p)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", p, err)
	}
	defer src.close()
	imgs, err := importSource(ctx, st, src)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", p, err)
	}
	return imgs, nil
}

func openSource(ctx context.Context, st *content.Store, p string) (source, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return openDir(p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 6)
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	if compression.Detect(head[:n]) != compression.Uncompressed {
		plain, err := decompressToTemp(ctx, st, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		f = plain
	}
	ts, err := openTar(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return ts, nil
}

// decompressToTemp unpacks a compressed archive (docker save | gzip) into
// an unlinked temp file in the store's ingest directory, so it can be read
// in place like a plain tarball and vanishes when closed.
func decompressToTemp(ctx context.Context, st *content.Store, f *os.File) (*os.File, error) {
	r, _, err := compression.Decompress(f, "")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	tmp, err := st.TempFile("import-*.tar")
	if err != nil {
		return nil, err
	}
	os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, content.ContextReader(ctx, r)); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("decompress: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return nil, err
	}
	return tmp, nil
}

func importSource(ctx context.Context, st *content.Store, src source) ([]content.Named, error) {
	idxData, idxErr := readSmall(src, "index.json", mediatype.MaxManifestSize)
	if idxErr == nil {
		var idx ocispec.Index
		if err := json.Unmarshal(idxData, &idx); err != nil {
			return nil, fmt.Errorf("index.json: %w", err)
		}
		if len(idx.Manifests) > 0 {
			return importOCI(ctx, st, src, idx)
		}
	} else if !errors.Is(idxErr, ErrMissingFile) {
		return nil, idxErr
	}
	mfData, err := readSmall(src, "manifest.json", mediatype.MaxManifestSize)
	if errors.Is(err, ErrMissingFile) {
		if idxErr == nil {
			return nil, fmt.Errorf("index.json: %w", ErrNoImages)
		}
		return nil, ErrUnknownFormat
	}
	if err != nil {
		return nil, err
	}
	return importDocker(ctx, st, src, mfData)
}

// normalize turns an archive's name into the store's full reference form.
func normalize(name string) (string, error) {
	r, err := reference.Parse(name)
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

// ---- OCI layout (oci-archive, layout directory, Docker 25+ save) ----

func blobName(d digest.Digest) string {
	return path.Join("blobs", d.Algorithm().String(), d.Encoded())
}

func importOCI(ctx context.Context, st *content.Store, src source, idx ocispec.Index) ([]content.Named, error) {
	var out []content.Named
	done := map[digest.Digest]bool{}
	for _, d := range idx.Manifests {
		if err := copyTree(ctx, st, src, d, done); err != nil {
			return nil, err
		}
		name := d.Annotations[content.AnnotationImageName]
		if name == "" {
			name = d.Annotations[ocispec.AnnotationRefName]
		}
		n := content.Named{Target: stripDesc(d)}
		if name != "" {
			full, err := normalize(name)
			if err != nil {
				return nil, fmt.Errorf("image name %q in index.json: %w", name, err)
			}
			n.Name = full
			if err := st.SetName(ctx, full, n.Target); err != nil {
				return nil, err
			}
		}
		out = append(out, n)
	}
	return out, nil
}

func stripDesc(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, Platform: d.Platform}
}

// copyTree stores d and everything it points to, children first. An
// index may lack children (platforms not saved); a manifest may not,
// except for foreign layers (descriptors with urls).
func copyTree(ctx context.Context, st *content.Store, src source, d ocispec.Descriptor, done map[digest.Digest]bool) error {
	if done[d.Digest] {
		return nil
	}
	if err := d.Digest.Validate(); err != nil || d.Digest.Algorithm() != digest.SHA256 {
		return fmt.Errorf("descriptor digest %q: unsupported or invalid", d.Digest)
	}
	r, size, err := src.open(blobName(d.Digest))
	if err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if size != d.Size {
		return fmt.Errorf("blob %s: %d bytes, descriptor says %d: %w", d.Digest, size, d.Size, errdefs.ErrSizeMismatch)
	}
	if mediatype.IsIndex(d.MediaType) || mediatype.IsManifest(d.MediaType) || d.MediaType == "" || d.MediaType == ocispec.MediaTypeDescriptor {
		if size > mediatype.MaxManifestSize {
			return fmt.Errorf("manifest %s: %d bytes: %w", d.Digest, size, errdefs.ErrTooLarge)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("blob %s: %w", d.Digest, err)
		}
		if got := digest.FromBytes(data); got != d.Digest {
			return fmt.Errorf("blob %s: content hashes to %s: %w", d.Digest, got, errdefs.ErrDigestMismatch)
		}
		kids, err := content.Children(d, data)
		if err != nil {
			return fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		isIndex := mediatype.IsIndex(d.MediaType) || (!mediatype.IsManifest(d.MediaType) && looksLikeIndex(data))
		for _, k := range kids {
			err := copyTree(ctx, st, src, k, done)
			if errors.Is(err, ErrMissingFile) && (isIndex || len(k.URLs) > 0) {
				continue
			}
			if err != nil {
				return err
			}
		}
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	if err := st.WriteBlob(ctx, stripDesc(d), r); err != nil {
		return err
	}
	done[d.Digest] = true
	return nil
}

func looksLikeIndex(data []byte) bool {
	var v struct {
		Manifests json.RawMessage `json:"manifests"`
	}
	return json.Unmarshal(data, &v) == nil && v.Manifests != nil
}

// ---- classic docker save ----

type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func importDocker(ctx context.Context, st *content.Store, src source, data []byte) ([]content.Named, error) {
	var mf []dockerManifest
	if err := json.Unmarshal(data, &mf); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	if len(mf) == 0 {
		return nil, fmt.Errorf("manifest.json: %w", ErrNoImages)
	}
	var out []content.Named
	for i, m := range mf {
		desc, err := importDockerImage(ctx, st, src, m)
		if err != nil {
			return nil, fmt.Errorf("image %d of manifest.json: %w", i+1, err)
		}
		if len(m.RepoTags) == 0 {
			out = append(out, content.Named{Target: desc})
		}
		for _, tag := range m.RepoTags {
			full, err := normalize(tag)
			if err != nil {
				return nil, fmt.Errorf("RepoTags %q: %w", tag, err)
			}
			if err := st.SetName(ctx, full, desc); err != nil {
				return nil, err
			}
			out = append(out, content.Named{Name: full, Target: desc})
		}
	}
	return out, nil
}

// digestInName returns the digest a docker-save file name carries
// ("<hex>.json", "sha256:<hex>", "blobs/sha256/<hex>"), or "".
func digestInName(name string) digest.Digest {
	base := path.Base(name)
	base = strings.TrimSuffix(base, ".json")
	base = strings.TrimPrefix(base, "sha256:")
	d := digest.NewDigestFromEncoded(digest.SHA256, base)
	if d.Validate() != nil {
		return ""
	}
	return d
}

func importDockerImage(ctx context.Context, st *content.Store, src source, m dockerManifest) (ocispec.Descriptor, error) {
	cfgData, err := readSmall(src, m.Config, maxConfigSize)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("config: %w", err)
	}
	cfgDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfgData), Size: int64(len(cfgData))}
	if want := digestInName(m.Config); want != "" && want != cfgDesc.Digest {
		return ocispec.Descriptor{}, fmt.Errorf("config %s hashes to %s: %w", m.Config, cfgDesc.Digest, errdefs.ErrDigestMismatch)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(cfgData, &cfg); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("config %s: %w", m.Config, err)
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != len(m.Layers) {
		return ocispec.Descriptor{}, fmt.Errorf("config lists %d layers (rootfs.diff_ids), manifest.json %d", len(diffIDs), len(m.Layers))
	}
	var layers []ocispec.Descriptor
	for i, name := range m.Layers {
		l, err := importLayer(ctx, st, src, name, diffIDs[i])
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		layers = append(layers, l)
	}
	if err := st.WriteBlob(ctx, cfgDesc, strings.NewReader(string(cfgData))); err != nil {
		return ocispec.Descriptor{}, err
	}
	man := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfgDesc, Layers: layers}
	man.SchemaVersion = 2
	mdata, err := json.Marshal(man)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mdata), Size: int64(len(mdata))}
	desc.Platform = &ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	if err := st.WriteBlob(ctx, stripPlatform(desc), strings.NewReader(string(mdata))); err != nil {
		return ocispec.Descriptor{}, err
	}
	return desc, nil
}

func stripPlatform(d ocispec.Descriptor) ocispec.Descriptor { d.Platform = nil; return d }

// importLayer hashes a layer file (and, when compressed, its uncompressed
// stream), checks the uncompressed digest against the config's diff_id,
// then stores it as is.
func importLayer(ctx context.Context, st *content.Store, src source, name string, diffID digest.Digest) (ocispec.Descriptor, error) {
	r, size, err := src.open(name)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("layer: %w", err)
	}
	br := bufio.NewReader(r)
	head, _ := br.Peek(6)
	kind := compression.Detect(head)
	raw := sha256.New()
	var gotDiff digest.Digest
	if kind == compression.Uncompressed {
		if _, err := io.Copy(raw, br); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("layer %s: %w", name, err)
		}
		gotDiff = digest.NewDigest(digest.SHA256, raw)
	} else {
		pr, pw := io.Pipe()
		go func() {
			_, err := io.Copy(io.MultiWriter(raw, pw), br)
			pw.CloseWithError(err)
		}()
		dr, _, err := compression.Decompress(pr, "")
		if err != nil {
			pr.CloseWithError(err)
			return ocispec.Descriptor{}, fmt.Errorf("layer %s: %w", name, err)
		}
		un := sha256.New()
		_, err = io.Copy(un, dr)
		dr.Close()
		if err == nil {
			_, err = io.Copy(io.Discard, pr) // trailing bytes still count for the raw digest
		}
		pr.CloseWithError(io.ErrClosedPipe)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("layer %s: %w", name, err)
		}
		gotDiff = digest.NewDigest(digest.SHA256, un)
	}
	if gotDiff != diffID {
		return ocispec.Descriptor{}, fmt.Errorf("layer %s: uncompressed content hashes to %s, config says %s: %w", name, gotDiff, diffID, errdefs.ErrDiffIDMismatch)
	}
	d := ocispec.Descriptor{Digest: digest.NewDigest(digest.SHA256, raw), Size: size}
	if want := digestInName(name); want != "" && strings.HasPrefix(name, "blobs/") && want != d.Digest {
		return ocispec.Descriptor{}, fmt.Errorf("layer %s hashes to %s: %w", name, d.Digest, errdefs.ErrDigestMismatch)
	}
	switch kind {
	case compression.Gzip:
		d.MediaType = ocispec.MediaTypeImageLayerGzip
	case compression.Zstd:
		d.MediaType = ocispec.MediaTypeImageLayerZstd
	default:
		d.MediaType = ocispec.MediaTypeImageLayer
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := st.WriteBlob(ctx, d, r); err != nil {
		return ocispec.Descriptor{}, err
	}
	return d, nil
}
