package registry

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/errdefs"
)

// basicAuth guards a handler with one user and password.
func basicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func readAuths(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Auths
}

func TestLoginLogout(t *testing.T) {
	m := startMem(t, basicAuth("alice", "s3cret"))
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "absent.json"))
	// Another field docker users have must survive.
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{},"psFormat":"table"}`), 0o600)
	opts := Options{Retry: RetryPolicy{Attempts: 1}}

	err := Login(testCtx(t), opts, m.host, "alice", "wrong")
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), m.host) {
		t.Fatalf("wrong password: got %v", err)
	}
	if _, ok := readAuths(t, dir)[m.host]; ok {
		t.Fatal("wrong credentials were stored")
	}
	if err := Login(testCtx(t), opts, m.host, "alice", "s3cret"); err != nil {
		t.Fatal(err)
	}
	auth := readAuths(t, dir)[m.host]["auth"]
	if auth != base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) {
		t.Fatalf("stored auth %q", auth)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if !strings.Contains(string(b), "psFormat") {
		t.Fatal("other config.json fields lost")
	}
	if fi, _ := os.Stat(filepath.Join(dir, "config.json")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("config.json mode %v", fi.Mode().Perm())
	}

	// The default keychain now finds the credentials.
	img := randomImage(t, 1, 100)
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Resolve(testCtx(t), m.ref(t, "x/y:nope"))
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("logged in: want not found, got %v", err)
	}
	_ = img

	if err := Logout(m.host); err != nil {
		t.Fatal(err)
	}
	if _, ok := readAuths(t, dir)[m.host]; ok {
		t.Fatal("logout left the credentials")
	}
	if err := Logout(m.host); err == nil {
		t.Fatal("second logout should say not logged in")
	}
	c, _ = New(Options{Retry: RetryPolicy{Attempts: 1}})
	_, _, err = c.Resolve(testCtx(t), m.ref(t, "x/y:nope"))
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("logged out: want unauthorized, got %v", err)
	}
}

func TestPodmanAuthFile(t *testing.T) {
	m := startMem(t, basicAuth("bob", "pw"))
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	file := filepath.Join(dir, "auth.json")
	t.Setenv("REGISTRY_AUTH_FILE", file)
	tests := []struct {
		name, user, pass string
		want             error
	}{
		{"right", "bob", "pw", errdefs.ErrNotFound},
		{"wrong", "bob", "nope", ErrUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			js := `{"auths":{"` + m.host + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte(tc.user+":"+tc.pass)) + `"}}}`
			if err := os.WriteFile(file, []byte(js), 0o600); err != nil {
				t.Fatal(err)
			}
			c, _ := New(Options{Retry: RetryPolicy{Attempts: 1}})
			_, _, err := c.Resolve(testCtx(t), m.ref(t, "x/y:nope"))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
