package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/ctrlite/ctr-lite/pkg/content"
)

// Handler serves st read-only. errLog receives what goes wrong on the
// server's side (a blob that fails verification); nil discards it.
func Handler(st *content.Store, errLog *log.Logger) http.Handler {
	if errLog == nil {
		errLog = log.New(discard{}, "", 0)
	}
	return &handler{st: st, log: errLog, verified: newVerified()}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Serve answers on l until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve on %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("stop serving on %s: %w", l.Addr(), err)
	}
	return nil
}

type handler struct {
	st       *content.Store
	log      *log.Logger
	verified *verified
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		apiError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "this registry is read-only")
		return
	}
	path := r.URL.Path
	if path == "/v2/" || path == "/v2" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte("{}"))
		}
		return
	}
	repo, kind, id, ok := route(path)
	switch {
	case !ok:
		apiError(w, http.StatusNotFound, "NAME_UNKNOWN", "unknown path")
	case !validRepo(repo):
		apiError(w, http.StatusBadRequest, "NAME_INVALID", "invalid repository name")
	case kind == "manifests":
		h.manifest(w, r, repo, id)
	case kind == "blobs":
		h.blob(w, r, id)
	case kind == "tags" && id == "list":
		h.tags(w, r, repo)
	default:
		apiError(w, http.StatusNotFound, "NAME_UNKNOWN", "unknown path")
	}
}

// route splits /v2/<repo>/<kind>/<id>; the repository may hold slashes.
func route(path string) (repo, kind, id string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return "", "", "", false
	}
	for _, k := range []string{"manifests", "blobs", "tags"} {
		if i := strings.LastIndex(rest, "/"+k+"/"); i > 0 {
			return rest[:i], k, rest[i+len(k)+2:], true
		}
	}
	return "", "", "", false
}

// blob serves a verified blob, with Range.
func (h *handler) blob(w http.ResponseWriter, r *http.Request, id string) {
	d, err := digest.Parse(id)
	if err != nil {
		apiError(w, http.StatusBadRequest, "DIGEST_INVALID", "invalid digest")
		return
	}
	f, err := h.open(r.Context(), d)
	if err != nil {
		h.notFound(w, "BLOB_UNKNOWN", d, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Etag", `"`+d.String()+`"`)
	http.ServeContent(w, r, "", time.Time{}, f)
}

// notFound answers 404 for a missing blob; one that failed verification
// is logged, and is just as absent to the client, which then tries the
// next host in its list.
func (h *handler) notFound(w http.ResponseWriter, code string, d digest.Digest, err error) {
	if !errors.Is(err, errdefs.ErrNotFound) {
		h.log.Printf("serve %s: %v", d, err)
	}
	apiError(w, http.StatusNotFound, code, "unknown "+d.String())
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
