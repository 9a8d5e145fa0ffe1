package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/singleflight"

	"github.com/ctrlite/ctr-lite/pkg/reference"
)

// Options configure a Client. The zero value works: default keychain,
// proxy-aware transport, default retry policy.
type Options struct {
	// ConfigDir holds certs.d/<host>/hosts.toml (containerd format).
	ConfigDir string
	// PlainHTTP allows plain HTTP to every registry (https tried first).
	PlainHTTP bool
	// Insecure lists hosts that may use plain HTTP and skip TLS verification.
	Insecure []string
	// Keychain finds credentials; default: docker config.json and
	// credential helpers, then podman's auth.json.
	Keychain authn.Keychain
	// Transport is the base transport; default honours HTTPS_PROXY/NO_PROXY.
	Transport http.RoundTripper
	// UserAgent is sent with every request.
	UserAgent string
	// Retry is the policy for transient failures.
	Retry RetryPolicy
	// ResponseTimeout bounds the wait for response headers (default 60s).
	ResponseTimeout time.Duration
	// IdleTimeout bounds a stall while reading a body (default 60s).
	IdleTimeout time.Duration
}

// Client resolves and fetches from registries. It is safe for concurrent use.
type Client struct {
	opts Options

	mu     sync.Mutex
	hosts  map[string][]endpoint        // registry -> endpoints, mirrors first
	rts    map[string]http.RoundTripper // endpoint base transport by TLS setup
	authed map[string]*authedTransport  // endpoint+repo -> authenticated client
	plain  map[string]bool              // host -> speaks plain HTTP (probed)

	handshakes singleflight.Group // one handshake at a time per authed key
}

type authedTransport struct {
	client *http.Client
}

// endpoint is a place to send requests for one registry.
type endpoint struct {
	Host
	plainOK  bool // may fall back to http (upstream localhost, --plain-http)
	authHost string
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	if opts.Keychain == nil {
		opts.Keychain = DefaultKeychain()
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "ctr-lite"
	}
	if opts.ResponseTimeout <= 0 {
		opts.ResponseTimeout = 60 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 60 * time.Second
	}
	opts.Retry = opts.Retry.withDefaults()
	return &Client{
		opts:   opts,
		hosts:  map[string][]endpoint{},
		rts:    map[string]http.RoundTripper{},
		authed: map[string]*authedTransport{},
		plain:  map[string]bool{},
	}, nil
}

// endpoints lists where requests for registry go: hosts.toml mirrors in
// order, then the server (the upstream, or hosts.toml's server).
func (c *Client) endpoints(registry string) ([]endpoint, error) {
	c.mu.Lock()
	eps, ok := c.hosts[registry]
	c.mu.Unlock()
	if ok {
		return eps, nil
	}
	cfg, err := loadHosts(c.opts.ConfigDir, registry)
	if err != nil {
		return nil, err
	}
	for _, h := range cfg.Hosts {
		ep := endpoint{Host: h, plainOK: h.Scheme == "http", authHost: h.Host}
		if c.insecure(h.Host) {
			ep.SkipVerify, ep.plainOK = true, true
		}
		eps = append(eps, ep)
	}
	up := endpoint{authHost: registry}
	if cfg.Server != nil {
		up.Host = *cfg.Server
		up.plainOK = up.Scheme == "http"
		up.authHost = up.Host.Host
	} else {
		host := registry
		if registry == reference.DefaultRegistry {
			host = "registry-1.docker.io"
		}
		up.Host = Host{Scheme: "https", Host: host, Path: "/v2",
			Capabilities: []Capability{CapPull, CapResolve, CapPush}, SkipVerify: cfg.SkipVerify, CAs: cfg.CAs}
	}
	// TLS trust belongs to host:port: a [host] entry naming the server
	// itself tells how to verify it for every request (login too).
	for _, h := range cfg.Hosts {
		if strings.EqualFold(h.Host, up.Host.Host) && h.Scheme == up.Host.Scheme {
			up.SkipVerify = up.SkipVerify || h.SkipVerify
			up.CAs = append(up.CAs, h.CAs...)
		}
	}
	if c.opts.PlainHTTP || c.insecure(up.Host.Host) || isLocal(up.Host.Host) {
		up.plainOK = true
	}
	if c.insecure(up.Host.Host) {
		up.SkipVerify = true
	}
	// The keychain knows Docker Hub as index.docker.io.
	if registry == reference.DefaultRegistry && up.authHost == "registry-1.docker.io" {
		up.authHost = reference.DefaultRegistry
	}
	eps = append(eps, up)
	c.mu.Lock()
	c.hosts[registry] = eps
	c.mu.Unlock()
	return eps, nil
}

func (c *Client) insecure(host string) bool {
	for _, h := range c.opts.Insecure {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// httpsOnly refuses plain HTTP requests: no credentials or token request
// ever leaves in clear text for a registry that was not allowed it.
type httpsOnly struct{ inner http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("plain HTTP to %s is not allowed (use --insecure-registry %s, or an http:// host in hosts.toml): %w",
			req.URL.Host, req.URL.Host, ErrInsecure)
	}
	return h.inner.RoundTrip(req)
}

// noTLSTo refuses HTTPS requests to host, a host known to speak plain
// HTTP only, without dialing; other hosts (a token server) are untouched.
type noTLSTo struct {
	inner http.RoundTripper
	host  string
}

func (n noTLSTo) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "https" && strings.EqualFold(req.URL.Host, n.host) {
		return nil, fmt.Errorf("%s speaks plain HTTP only", n.host)
	}
	return n.inner.RoundTrip(req)
}

// isLocal: localhost, 127.0.0.0/8 and ::1 may use plain HTTP without a flag.
func isLocal(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// baseTransport returns the retrying transport for an endpoint's TLS setup.
func (c *Client) baseTransport(ep endpoint) (http.RoundTripper, error) {
	key := fmt.Sprintf("%t|%s", ep.SkipVerify, strings.Join(ep.CAs, "|"))
	c.mu.Lock()
	rt, ok := c.rts[key]
	c.mu.Unlock()
	if ok {
		return rt, nil
	}
	base := c.opts.Transport
	if base == nil || ep.SkipVerify || len(ep.CAs) > 0 {
		var tr *http.Transport
		switch b := base.(type) {
		case nil:
			tr = defaultTransport(c.opts.ResponseTimeout)
		case *http.Transport:
			tr = b.Clone()
		default:
			return nil, fmt.Errorf("host %s: ca/skip_verify need an *http.Transport base", ep.Host.Host)
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if ep.SkipVerify {
			tr.TLSClientConfig.InsecureSkipVerify = true
		}
		if len(ep.CAs) > 0 {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			for _, f := range ep.CAs {
				pem, err := os.ReadFile(f)
				if err != nil {
					return nil, fmt.Errorf("host %s: ca: %w", ep.Host.Host, err)
				}
				if !pool.AppendCertsFromPEM(pem) {
					return nil, fmt.Errorf("host %s: ca %s: no PEM certificates", ep.Host.Host, f)
				}
			}
			tr.TLSClientConfig.RootCAs = pool
		}
		base = tr
	}
	rt = &retryTransport{inner: base, policy: c.opts.Retry}
	c.mu.Lock()
	c.rts[key] = rt
	c.mu.Unlock()
	return rt, nil
}

func defaultTransport(respTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: respTimeout,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
}

// client returns an authenticated HTTP client for repo on ep, doing the
// ping and token handshake once per endpoint and repository.
func (c *Client) client(ctx context.Context, ep endpoint, repo string, push bool) (*http.Client, error) {
	action := transport.PullScope
	if push {
		action = transport.PushScope
	}
	key := ep.Scheme + "://" + ep.Host.Host + "|" + repo + "|" + action
	if hc := c.cached(key); hc != nil {
		return hc, nil
	}
	// Concurrent callers for one key share one ping and token request.
	ch := c.handshakes.DoChan(key, func() (any, error) {
		if hc := c.cached(key); hc != nil {
			return hc, nil // a handshake finished just before this one started
		}
		// Waiters share this handshake: a cancel of the caller that
		// happened to start it must not fail theirs.
		return c.handshake(context.WithoutCancel(ctx), ep, repo, action, key)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*http.Client), nil
	case <-ctx.Done(): // this caller gives up; the handshake goes on for the others
		return nil, ctx.Err()
	}
}

// cached returns the authenticated client for key, or nil.
func (c *Client) cached(key string) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.authed[key]; ok {
		return a.client
	}
	return nil
}

// handshake pings ep, resolves credentials and fetches a token for repo,
// then caches the authenticated client under key.
func (c *Client) handshake(ctx context.Context, ep endpoint, repo, action, key string) (*http.Client, error) {
	base, err := c.baseTransport(ep)
	if err != nil {
		return nil, err
	}
	var nopts []name.Option
	if ep.plainOK {
		plain, err := c.wantsPlain(ctx, ep, base)
		if err != nil {
			return nil, err
		}
		if plain {
			nopts = append(nopts, name.Insecure)
			// ggcr's ping would try TLS first again: this host does
			// not speak it (wantsPlain saw that), so fail that try at once.
			base = noTLSTo{base, ep.Host.Host}
		}
	}
	reg, err := name.NewRegistry(ep.Host.Host, nopts...)
	if err != nil {
		return nil, fmt.Errorf("host %q: %w", ep.Host.Host, err)
	}
	authReg, err := name.NewRegistry(ep.authHost, nopts...)
	if err != nil {
		authReg = reg
	}
	auth, err := authn.Resolve(ctx, c.opts.Keychain, authReg)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", ep.authHost, err)
	}
	var scopes []string
	if repo != "" {
		scopes = []string{reg.Repo(repo).Scope(action)}
	}
	if !ep.plainOK {
		// ggcr would try plain HTTP for private (RFC 1918) addresses too;
		// only localhost, 127.0.0.0/8, --plain-http, --insecure-registry
		// and http:// mirrors may.
		base = httpsOnly{base}
	}
	ua := transport.NewUserAgent(base, c.opts.UserAgent)
	rt, err := transport.NewWithContext(ctx, reg, auth, ua, scopes)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: rt}
	c.mu.Lock()
	c.authed[key] = &authedTransport{client: hc}
	c.mu.Unlock()
	return hc, nil
}

// forget drops a cached handshake (after an auth failure, so a retry with new
// credentials starts afresh).
func (c *Client) forget(ep endpoint, repo string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := ep.Scheme + "://" + ep.Host.Host + "|" + repo + "|"
	for k := range c.authed {
		if strings.HasPrefix(k, prefix) {
			delete(c.authed, k)
		}
	}
}

// wantsPlain decides, for a host allowed plain HTTP, whether to use it: a
// host that answers TLS is used over TLS, and a certificate it presents
// that we do not trust is an error, never a reason to drop to plain HTTP.
// Only a host that does not speak TLS at all gets plain HTTP.
func (c *Client) wantsPlain(ctx context.Context, ep endpoint, base http.RoundTripper) (bool, error) {
	if ep.Scheme == "http" {
		return true, nil
	}
	c.mu.Lock()
	p, ok := c.plain[ep.Host.Host]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+ep.Host.Host+"/v2/", nil)
	if err != nil {
		return false, err
	}
	resp, err := (&http.Client{Transport: base}).Do(req)
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	switch {
	case err == nil:
		resp.Body.Close()
		p = false
	case errors.As(err, &cv):
		return false, fmt.Errorf("TLS certificate of %s not trusted (add its CA as ca in hosts.toml, or --insecure-registry): %w", ep.Host.Host, err)
	case errors.As(err, &rh), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		p = true
	default:
		// Unreachable or odd: let the handshake try both schemes.
		return true, nil
	}
	c.mu.Lock()
	c.plain[ep.Host.Host] = p
	c.mu.Unlock()
	return p, nil
}
