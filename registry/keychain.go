package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// DefaultKeychain is docker's config.json ($DOCKER_CONFIG) with its
// credential helpers, then podman's auth.json ($REGISTRY_AUTH_FILE, else
// $XDG_RUNTIME_DIR/containers/auth.json).
func DefaultKeychain() authn.Keychain {
	return authn.NewMultiKeychain(authn.DefaultKeychain, podmanKeychain{})
}

type podmanKeychain struct{}

func podmanAuthFile() string {
	if f := os.Getenv("REGISTRY_AUTH_FILE"); f != "" {
		return f
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "containers", "auth.json")
	}
	return ""
}

type authFile struct {
	Auths map[string]struct {
		Auth          string `json:"auth"`
		IdentityToken string `json:"identitytoken"`
	} `json:"auths"`
}

func (podmanKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	f := podmanAuthFile()
	if f == "" {
		return authn.Anonymous, nil
	}
	data, err := os.ReadFile(f)
	if errors.Is(err, os.ErrNotExist) {
		return authn.Anonymous, nil
	}
	if err != nil {
		return nil, err
	}
	var af authFile
	if err := json.Unmarshal(data, &af); err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	host := r.RegistryStr()
	keys := []string{host, "https://" + host, "http://" + host}
	if host == name.DefaultRegistry || host == "docker.io" {
		keys = append(keys, "docker.io", "https://index.docker.io/v1/", "registry-1.docker.io")
	}
	for _, k := range keys {
		e, ok := af.Auths[k]
		if !ok {
			continue
		}
		if e.IdentityToken != "" {
			return authn.FromConfig(authn.AuthConfig{IdentityToken: e.IdentityToken}), nil
		}
		raw, err := base64.StdEncoding.DecodeString(e.Auth)
		if err != nil {
			return nil, fmt.Errorf("%s: auth for %s: %w", f, k, err)
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil, fmt.Errorf("%s: auth for %s: want user:password", f, k)
		}
		return authn.FromConfig(authn.AuthConfig{Username: user, Password: pass}), nil
	}
	return authn.Anonymous, nil
}

// dockerConfigPath is $DOCKER_CONFIG/config.json or ~/.docker/config.json.
func dockerConfigPath() (string, error) {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".docker", "config.json"), nil
}

// configKey is the key docker uses in config.json for host.
func configKey(host string) string {
	if host == "docker.io" || host == name.DefaultRegistry || host == "registry-1.docker.io" {
		return "https://index.docker.io/v1/"
	}
	return host
}

// Login checks user and password against host's registry (through the same
// endpoint, TLS and hosts.toml settings as pulls), then stores them in
// docker's config.json. Wrong credentials give an error matching
// ErrUnauthorized.
func Login(ctx context.Context, opts Options, host, user, password string) error {
	opts.Keychain = authn.NewKeychainFromHelper(staticHelper{user, password})
	c, err := New(opts)
	if err != nil {
		return err
	}
	eps, err := c.endpoints(host)
	if err != nil {
		return fmt.Errorf("login %s: %w", host, err)
	}
	ep := eps[len(eps)-1]
	if err := c.ping(ctx, ep); err != nil {
		return err
	}
	return updateConfig(func(auths map[string]any) {
		auths[configKey(host)] = map[string]any{
			"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password)),
		}
	})
}

type staticHelper struct{ user, pass string }

func (h staticHelper) Get(string) (string, string, error) { return h.user, h.pass, nil }

// ping does the auth handshake and GET /v2/ on ep with the client's
// credentials, mapping failure to a typed error.
func (c *Client) ping(ctx context.Context, ep endpoint) error {
	op, ref := "login", ep.Host.Host
	hc, err := c.client(ctx, ep, "", false)
	if err != nil {
		return c.wrapErr(op, ref, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.Scheme+"://"+ep.Host.Host+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return c.wrapErr(op, ref, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return responseError(op, ref, resp)
	}
	return nil
}

// Logout removes host's credentials from docker's config.json.
func Logout(host string) error {
	found := false
	err := updateConfig(func(auths map[string]any) {
		for _, k := range []string{configKey(host), host, "https://" + host, "http://" + host} {
			if _, ok := auths[k]; ok {
				delete(auths, k)
				found = true
			}
		}
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("logout %s: not logged in", host)
	}
	return nil
}

// updateConfig rewrites config.json's "auths" with edit, keeping every other
// field, atomically (temp file + rename), mode 0600.
func updateConfig(edit func(auths map[string]any)) error {
	path, err := dockerConfigPath()
	if err != nil {
		return err
	}
	doc := map[string]any{}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	auths, _ := doc["auths"].(map[string]any)
	if auths == nil {
		auths = map[string]any{}
	}
	edit(auths)
	doc["auths"] = auths
	out, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config.json.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(out, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
