package serve

import (
	"context"
	"encoding/json"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/mediatype"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/reference"
)

// manifest serves a manifest or index by digest or by tag.
func (h *handler) manifest(w http.ResponseWriter, r *http.Request, repo, id string) {
	ctx := r.Context()
	var desc ocispec.Descriptor
	if d, err := digest.Parse(id); err == nil {
		desc = ocispec.Descriptor{Digest: d}
	} else {
		named, ok := h.lookup(ctx, repo, id, r.URL.Query().Get("ns"))
		if !ok {
			apiError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "unknown tag "+id)
			return
		}
		desc = named
	}
	raw, mt, err := h.readManifest(ctx, desc)
	if err != nil {
		h.notFound(w, "MANIFEST_UNKNOWN", desc.Digest, err)
		return
	}
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Docker-Content-Digest", desc.Digest.String())
	w.Header().Set("Etag", `"`+desc.Digest.String()+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(raw)
	}
}

// readManifest reads a verified manifest or index and its media type
// (the descriptor's, else the document's, else guessed from its shape).
// Other blobs are not manifests.
func (h *handler) readManifest(ctx context.Context, desc ocispec.Descriptor) ([]byte, string, error) {
	f, err := h.open(ctx, desc.Digest)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, mediatype.MaxManifestSize+1))
	if err != nil {
		return nil, "", err
	}
	if len(raw) > mediatype.MaxManifestSize || digest.FromBytes(raw) != desc.Digest {
		return nil, "", errdefs.ErrNotFound
	}
	var doc struct {
		MediaType string          `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
		Config    json.RawMessage `json:"config"`
		Layers    json.RawMessage `json:"layers"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, "", errdefs.ErrNotFound
	}
	mt := desc.MediaType
	if mt == "" {
		mt = doc.MediaType
	}
	switch {
	case mediatype.IsIndex(mt) || mediatype.IsManifest(mt):
	case mt == "" && doc.Manifests != nil:
		mt = ocispec.MediaTypeImageIndex
	case mt == "" && doc.Config != nil && doc.Layers != nil:
		mt = ocispec.MediaTypeImageManifest
	default:
		return nil, "", errdefs.ErrNotFound
	}
	return raw, mt, nil
}

// lookup finds the stored image repo:tag names: <ns>/<repo>:<tag> for a
// mirror request, else the name repo:tag parses to (docker.io/library/...
// for a short one), else the one stored name in whatever registry whose
// repository and tag are these.
func (h *handler) lookup(ctx context.Context, repo, tag, ns string) (ocispec.Descriptor, bool) {
	want := repo + ":" + tag
	if ns != "" {
		want = ns + "/" + want
	}
	if ref, err := reference.Parse(want); err == nil {
		if d, err := h.st.Get(ctx, ref.String()); err == nil {
			return d, true
		}
	}
	if ns != "" {
		return ocispec.Descriptor{}, false
	}
	named, err := h.st.List(ctx)
	if err != nil {
		return ocispec.Descriptor{}, false
	}
	for _, n := range named {
		if ref, err := reference.Parse(n.Name); err == nil && ref.Repository() == repo && ref.Tag() == tag && ref.Digest() == "" {
			return n.Target, true
		}
	}
	return ocispec.Descriptor{}, false
}

// tags lists the tags stored for repo (in any registry, or in ?ns=).
func (h *handler) tags(w http.ResponseWriter, r *http.Request, repo string) {
	named, err := h.st.List(r.Context())
	if err != nil {
		apiError(w, http.StatusInternalServerError, "UNKNOWN", "cannot read the store")
		return
	}
	ns := r.URL.Query().Get("ns")
	seen := map[string]bool{}
	tags := []string{}
	for _, n := range named {
		ref, err := reference.Parse(n.Name)
		if err != nil || ref.Tag() == "" || seen[ref.Tag()] || (ns != "" && ref.Registry() != ns) {
			continue
		}
		if ref.Repository() == repo || strings.TrimPrefix(ref.Repository(), "library/") == repo {
			seen[ref.Tag()] = true
			tags = append(tags, ref.Tag())
		}
	}
	if len(tags) == 0 {
		apiError(w, http.StatusNotFound, "NAME_UNKNOWN", "unknown repository "+repo)
		return
	}
	sort.Strings(tags)
	b, _ := json.Marshal(map[string]any{"name": repo, "tags": tags})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(b)
	}
}

// validRepo checks the distribution-spec repository grammar.
func validRepo(repo string) bool {
	_, err := reference.Parse("localhost/" + repo + ":x")
	return err == nil && len(repo) <= 255
}
