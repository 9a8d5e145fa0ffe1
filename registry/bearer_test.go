package registry

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// tokenAuth guards a registry with the bearer-token flow: /v2/ challenges
// with a realm (/token on the same host: ggcr refuses token realms on other
// private addresses), which hands out a token for the right basic
// credentials and the requested scope.
func tokenAuth(user, pass string, tokens *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				u, p, ok := r.BasicAuth()
				if !ok || u != user || p != pass {
					w.WriteHeader(http.StatusUnauthorized)
					w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`))
					return
				}
				tokens.Add(1)
				fmt.Fprintf(w, `{"token":"tok-%s"}`, strings.ReplaceAll(r.URL.Query().Get("scope"), "\"", ""))
				return
			}
			auth := r.Header.Get("Authorization")
			if r.URL.Path == "/v2/" || !strings.HasPrefix(auth, "Bearer tok-repository:") {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, r.Host))
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestBearerToken(t *testing.T) {
	var tokens atomic.Int64
	m := startMem(t, nil)
	img := randomImage(t, 1, 500)
	m.push(t, "team/app:v1", img) // pushed before auth is in front
	guarded := httptest.NewServer(tokenAuth("carol", "pw", &tokens)(m.srv.Config.Handler))
	t.Cleanup(guarded.Close)
	g := &memRegistry{host: strings.TrimPrefix(guarded.URL, "http://")}

	for _, tc := range []struct {
		name, pass string
		want       error
	}{
		{"right", "pw", nil},
		{"wrong", "nope", ErrUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			js := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, g.host, b64("carol:"+tc.pass))
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(js), 0o600)
			t.Setenv("DOCKER_CONFIG", dir)
			t.Setenv("REGISTRY_AUTH_FILE", "/nonexistent")
			tokens.Store(0)
			c := testClient(t, Options{Keychain: DefaultKeychain(), Retry: RetryPolicy{Attempts: 1}})
			ref := g.ref(t, "team/app:v1")
			_, _, err := c.Resolve(testCtx(t), ref)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				// A second request reuses the token.
				if _, _, err := c.Resolve(testCtx(t), ref); err != nil {
					t.Fatal(err)
				}
				if tokens.Load() != 1 {
					t.Fatalf("%d tokens fetched for two requests, want 1", tokens.Load())
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), ref.String()) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// Concurrent first requests for one repository share one token request.
func TestBearerTokenShared(t *testing.T) {
	var tokens atomic.Int64
	m := startMem(t, nil)
	m.push(t, "team/app:v1", randomImage(t, 1, 500))
	guarded := httptest.NewServer(tokenAuth("carol", "pw", &tokens)(m.srv.Config.Handler))
	t.Cleanup(guarded.Close)
	g := &memRegistry{host: strings.TrimPrefix(guarded.URL, "http://")}
	dir := t.TempDir()
	js := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, g.host, b64("carol:pw"))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(js), 0o600)
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", "/nonexistent")
	c := testClient(t, Options{Keychain: DefaultKeychain(), Retry: RetryPolicy{Attempts: 1}})
	ref := g.ref(t, "team/app:v1")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := c.Resolve(testCtx(t), ref)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := tokens.Load(); n != 1 {
		t.Fatalf("%d tokens fetched for 8 concurrent requests, want 1", n)
	}
}
