package testutil

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FaultKind is a misbehaviour the FaultProxy can inject.
type FaultKind string

// Faults. "Blob body" means the response body of a GET .../blobs/<digest>.
const (
	FaultCut         FaultKind = "cut"          // send After bytes of the body, then drop the connection
	FaultStall       FaultKind = "stall"        // after After bytes, stop sending for Duration (or until the client leaves)
	FaultStatus      FaultKind = "status"       // answer Status (500, 503, 429...) with RetryAfter
	FaultWrongLen    FaultKind = "wrong-length" // announce Content-Length + Delta, send the real body
	FaultFlipByte    FaultKind = "flip-byte"    // invert the byte at body offset After
	FaultBadLayer    FaultKind = "bad-layer"    // manifest: layers[0].digest replaced by a bogus digest served with the real layer's bytes
	FaultHugeLen     FaultKind = "huge-length"  // announce a 5 GB Content-Length, send the real body
	FaultSelfIndex   FaultKind = "self-index"   // manifest: an index whose only child is (claims to be) itself
	FaultIgnoreRange FaultKind = "ignore-range" // drop the Range header: answer 200 with the whole body
	FaultTrickle     FaultKind = "trickle"      // after After bytes, send one byte every Duration (default 1s)
	FaultCutRequest  FaultKind = "cut-request"  // pass After bytes of the request body upstream (none: do not forward), then drop the connection
)

// Fault is one programmed misbehaviour. It applies to requests whose method
// (if set) and path match, for the first Times of them (0: all).
type Fault struct {
	Kind       FaultKind
	Method     string        // "GET", "HEAD"; empty: any
	Path       string        // substring of the URL path, e.g. "/blobs/sha256:..." or "/manifests/"
	Times      int           // how many matching requests get the fault; 0 means every one
	Skip       int           // how many matching requests pass unharmed first
	After      int64         // byte offset for cut, stall, flip
	Status     int           // for FaultStatus
	RetryAfter string        // Retry-After header for FaultStatus
	Delta      int64         // for FaultWrongLen
	Duration   time.Duration // for FaultStall; 0 means until the client goes away
}

// Request is one entry of the proxy's log.
type Request struct {
	Method string
	Path   string
	Range  string // the Range header the client sent
	Status int
	Bytes  int64 // body bytes sent to the client
	Fault  FaultKind
	Agent  string // User-Agent
}

// FaultProxy is a reverse proxy in front of a Registry that logs every
// request and injects programmed faults. It serves plain HTTP on 127.0.0.1.
type FaultProxy struct {
	URL  string // http://127.0.0.1:PORT
	Host string // 127.0.0.1:PORT

	upstream *Registry
	client   *http.Client
	srv      *httptest.Server

	mu     sync.Mutex
	faults []*activeFault
	log    []Request
	bogus  map[string]string // bogus layer digest -> real digest
	active int               // handlers running
}

type activeFault struct {
	Fault
	used    int
	skipped int
}

// bogusIndexDigest is what a self-index claims as its child (and is served
// for it, so a client that does not verify would loop).
var bogusIndexDigest = "sha256:" + hex.EncodeToString(func() []byte { s := sha256.Sum256([]byte("ctr-lite self index")); return s[:] }())

// StartFaultProxy starts a FaultProxy in front of upstream; it stops with
// the test.
func StartFaultProxy(t testing.TB, upstream *Registry) *FaultProxy {
	t.Helper()
	tr := upstream.Transport()
	tr.DisableCompression = true
	p := &FaultProxy{
		upstream: upstream,
		client: &http.Client{Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		bogus: map[string]string{},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	p.Host = strings.TrimPrefix(p.srv.URL, "http://")
	t.Cleanup(func() {
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
	return p
}

// Add programs a fault.
func (p *FaultProxy) Add(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &activeFault{Fault: f})
}

// Clear removes all faults (the log is kept).
func (p *FaultProxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

// Log returns a copy of the request log. A request is logged when its
// answer has been sent, which can be just after the client read the last
// byte, so Log first waits (up to 5 seconds) for running requests to end.
func (p *FaultProxy) Log() []Request {
	for i := 0; i < 500; i++ {
		p.mu.Lock()
		n := p.active
		p.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

// ResetLog empties the request log.
func (p *FaultProxy) ResetLog() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = nil
}

// BlobGets returns the logged GETs of the blob with digest dgst.
func (p *FaultProxy) BlobGets(dgst string) []Request {
	var out []Request
	for _, r := range p.Log() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/blobs/"+dgst) {
			out = append(out, r)
		}
	}
	return out
}

// BytesServed sums the body bytes of logged blob GETs.
func (p *FaultProxy) BytesServed() int64 {
	var n int64
	for _, r := range p.Log() {
		if strings.Contains(r.Path, "/blobs/") {
			n += r.Bytes
		}
	}
	return n
}

func (p *FaultProxy) pick(r *http.Request) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.faults {
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		if !strings.Contains(r.URL.Path, f.Path) {
			continue
		}
		if f.Times > 0 && f.used >= f.Times {
			continue
		}
		if f.skipped < f.Skip {
			f.skipped++
			continue
		}
		f.used++
		ff := f.Fault
		return &ff
	}
	return nil
}

func (p *FaultProxy) record(r *http.Request, status int, n int64, kind FaultKind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, Request{Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"),
		Status: status, Bytes: n, Fault: kind, Agent: r.UserAgent()})
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.active++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.active--
		p.mu.Unlock()
	}()
	f := p.pick(r)
	var kind FaultKind
	if f != nil {
		kind = f.Kind
	}
	status, n := p.handle(w, r, f)
	p.record(r, status, n, kind)
}

// handle forwards r upstream and writes the (possibly damaged) answer; it
// returns the status and body bytes sent.
func (p *FaultProxy) handle(w http.ResponseWriter, r *http.Request, f *Fault) (int, int64) {
	if f != nil && f.Kind == FaultStatus {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		b := fmt.Sprintf(`{"errors":[{"code":"UNKNOWN","message":"injected %d"}]}`, f.Status)
		io.WriteString(w, b)
		return f.Status, int64(len(b))
	}
	if strings.Contains(r.URL.Path, "/manifests/"+bogusIndexDigest) || (f != nil && f.Kind == FaultSelfIndex) {
		return serveBytes(w, r, selfIndex(), "application/vnd.oci.image.index.v1+json")
	}
	path := r.URL.Path
	p.mu.Lock()
	for fake, real := range p.bogus {
		if strings.HasSuffix(path, "/blobs/"+fake) {
			path = strings.TrimSuffix(path, fake) + real
		}
	}
	p.mu.Unlock()

	reqBody := io.Reader(r.Body)
	if f != nil && f.Kind == FaultCutRequest {
		reqBody = io.LimitReader(r.Body, f.After)
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream.URL+path+qs(r), reqBody)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return http.StatusBadGateway, 0
	}
	out.Header = r.Header.Clone()
	out.Header.Set("X-Forwarded-Proto", "http")
	out.Host = r.Host
	out.ContentLength = r.ContentLength
	if f != nil && f.Kind == FaultCutRequest {
		out.ContentLength = -1
		out.Header.Del("Content-Length")
		if f.After > 0 {
			if resp, err := p.client.Do(out); err == nil {
				resp.Body.Close()
			}
		}
		p.record(r, 0, 0, f.Kind)
		panic(http.ErrAbortHandler) // the client never gets an answer
	}
	if f != nil && f.Kind == FaultIgnoreRange {
		out.Header.Del("Range")
	}
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return http.StatusBadGateway, 0
	}
	defer resp.Body.Close()

	if f != nil && f.Kind == FaultBadLayer && strings.Contains(r.URL.Path, "/manifests/") && resp.StatusCode == http.StatusOK {
		body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		if err == nil {
			if nb, ok := p.badLayer(body); ok {
				return serveBytes(w, r, nb, resp.Header.Get("Content-Type"))
			}
		}
		return serveBytes(w, r, body, resp.Header.Get("Content-Type"))
	}

	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		w.Header().Set("Location", strings.Replace(loc, p.upstream.URL, p.URL, 1))
	}
	body := io.Reader(resp.Body)
	if f != nil {
		switch f.Kind {
		case FaultWrongLen:
			w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength+f.Delta, 10))
		case FaultHugeLen:
			w.Header().Set("Content-Length", "5000000000")
		case FaultFlipByte:
			body = &flipReader{r: resp.Body, at: f.After}
		}
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodHead {
		return resp.StatusCode, 0
	}
	if f != nil && f.Kind == FaultTrickle {
		return resp.StatusCode, trickle(r.Context(), w, body, f.After, f.Duration)
	}
	if f != nil && (f.Kind == FaultCut || f.Kind == FaultStall) {
		n, _ := io.CopyN(w, body, f.After)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		if f.Kind == FaultStall {
			ctx := r.Context()
			if f.Duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, f.Duration)
				defer cancel()
			}
			<-ctx.Done()
			if r.Context().Err() == nil {
				m, _ := io.Copy(w, body)
				return resp.StatusCode, n + m
			}
			return resp.StatusCode, n
		}
		p.record(r, resp.StatusCode, n, f.Kind)
		panic(http.ErrAbortHandler) // drops the connection mid-body
	}
	n, _ := io.Copy(w, body)
	return resp.StatusCode, n
}

// trickle copies after bytes of body to w, then one byte every every
// (default 1s) until body ends or ctx is done; it returns the bytes sent.
func trickle(ctx context.Context, w http.ResponseWriter, body io.Reader, after int64, every time.Duration) int64 {
	if every <= 0 {
		every = time.Second
	}
	fl, _ := w.(http.Flusher)
	n, _ := io.CopyN(w, body, after)
	one := make([]byte, 1)
	for {
		if fl != nil {
			fl.Flush()
		}
		select {
		case <-ctx.Done():
			return n
		case <-time.After(every):
		}
		if _, err := io.ReadFull(body, one); err != nil {
			return n
		}
		if _, err := w.Write(one); err != nil {
			return n
		}
		n++
	}
}

func qs(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

func serveBytes(w http.ResponseWriter, r *http.Request, b []byte, ct string) (int, int64) {
	sum := sha256.Sum256(b)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return http.StatusOK, 0
	}
	n, _ := w.Write(b)
	return http.StatusOK, int64(n)
}

// badLayer rewrites layers[0].digest to a bogus digest, remembering to serve
// the real layer's bytes for it.
func (p *FaultProxy) badLayer(body []byte) ([]byte, bool) {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return nil, false
	}
	layers, _ := m["layers"].([]any)
	if len(layers) == 0 {
		return nil, false
	}
	l0, _ := layers[0].(map[string]any)
	real, _ := l0["digest"].(string)
	if real == "" {
		return nil, false
	}
	sum := sha256.Sum256([]byte("bogus " + real))
	fake := "sha256:" + hex.EncodeToString(sum[:])
	l0["digest"] = fake
	nb, err := json.Marshal(m)
	if err != nil {
		return nil, false
	}
	p.mu.Lock()
	p.bogus[fake] = real
	p.mu.Unlock()
	return nb, true
}

// BogusLayerDigest returns the fake digest FaultBadLayer put in place of
// real, and whether it did.
func (p *FaultProxy) BogusLayerDigest(real string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for fake, r := range p.bogus {
		if r == real {
			return fake, true
		}
	}
	return "", false
}

// SelfIndexDigest is the digest a FaultSelfIndex index names as its child.
func SelfIndexDigest() string { return bogusIndexDigest }

// selfIndex is an OCI index whose only child is bogusIndexDigest, which the
// proxy serves with these same bytes; its size field is its own length.
func selfIndex() []byte {
	size := 0
	var b []byte
	for i := 0; i < 5; i++ {
		b = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":%q,"size":%d}]}`, bogusIndexDigest, size))
		if len(b) == size {
			break
		}
		size = len(b)
	}
	return b
}

type flipReader struct {
	r   io.Reader
	at  int64
	off int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+int64(n) {
		p[f.at-f.off] ^= 0xff
	}
	f.off += int64(n)
	return n, err
}
