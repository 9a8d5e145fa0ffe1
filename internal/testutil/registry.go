package testutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RegistryBinary is Debian's distribution registry (package docker-registry).
const RegistryBinary = "/usr/bin/docker-registry"

// Registry is a running docker-registry on 127.0.0.1 started by a test.
type Registry struct {
	Host     string // 127.0.0.1:PORT
	URL      string // http(s)://127.0.0.1:PORT
	Dir      string // storage, config, certificates and log
	CAFile   string // PEM of the CA that signed the server certificate (TLS only)
	User     string // htpasswd user (Htpasswd only)
	Password string
}

// RegistryOptions choose how StartRegistry runs the registry.
type RegistryOptions struct {
	TLS      bool // serve HTTPS with a certificate for 127.0.0.1 from a generated CA
	Htpasswd bool // basic auth: user "ctr" with a random password
	// ProxyRemoteURL runs the registry as a pull-through cache of that URL.
	ProxyRemoteURL string
	ProxyUser      string // credentials for the remote, if it needs them
	ProxyPassword  string
	ProxyCAFile    string // CA the cache trusts for the remote (SSL_CERT_FILE)
}

// StartRegistry runs docker-registry with a generated config on a free port
// of 127.0.0.1, storage under t.TempDir(), waits until /v2/ answers and
// stops it when the test ends. Without the binary the test is skipped, or
// fails under CI=true (see Skipf).
func StartRegistry(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	if _, err := os.Stat(RegistryBinary); err != nil {
		Skipf(t, "%s not installed (apt-get install docker-registry, or make deps)", RegistryBinary)
	}
	dir := t.TempDir()
	r := &Registry{Dir: dir}
	var certFile, keyFile string
	if opts.TLS {
		r.CAFile, certFile, keyFile = writeCerts(t, dir)
	}
	var htpasswd string
	if opts.Htpasswd {
		r.User, r.Password = "ctr", randomHex(t, 12)
		htpasswd = filepath.Join(dir, "htpasswd")
		out, err := exec.Command("htpasswd", "-Bbn", r.User, r.Password).Output()
		if err != nil {
			t.Fatalf("htpasswd -Bbn (apt-get install apache2-utils): %v", err)
		}
		if err := os.WriteFile(htpasswd, out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var lastErr error
	for try := 0; try < 3; try++ {
		port := FreePort(t)
		r.Host = fmt.Sprintf("127.0.0.1:%d", port)
		scheme := "http"
		if opts.TLS {
			scheme = "https"
		}
		r.URL = scheme + "://" + r.Host
		cfg := registryConfig(dir, r.Host, certFile, keyFile, htpasswd, opts)
		cfgFile := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		logFile := filepath.Join(dir, "registry.log")
		if lastErr = r.run(t, cfgFile, logFile, opts.ProxyCAFile); lastErr == nil {
			return r
		}
	}
	t.Fatalf("start docker-registry: %v", lastErr)
	return nil
}

func (r *Registry) run(t testing.TB, cfgFile, logFile, caFile string) error {
	logf, err := os.Create(logFile)
	if err != nil {
		return err
	}
	cmd := exec.Command(RegistryBinary, "serve", cfgFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	if caFile != "" {
		cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+caFile)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	client := &http.Client{Transport: r.Transport(), Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			log, _ := os.ReadFile(logFile)
			return fmt.Errorf("registry exited (%v): %s", err, tail(log, 2000))
		default:
		}
		resp, err := client.Get(r.URL + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				t.Cleanup(stop)
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	log, _ := os.ReadFile(logFile)
	return fmt.Errorf("registry on %s not ready after 20s: %s", r.Host, tail(log, 2000))
}

func registryConfig(dir, addr, cert, key, htpasswd string, opts RegistryOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.1\nlog:\n  level: info\n  formatter: text\n")
	fmt.Fprintf(&b, "storage:\n  filesystem:\n    rootdirectory: %q\n  delete:\n    enabled: true\n", filepath.Join(dir, "storage"))
	fmt.Fprintf(&b, "  maintenance:\n    uploadpurging:\n      enabled: false\n")
	fmt.Fprintf(&b, "http:\n  addr: %q\n  secret: %q\n", addr, "ctr-lite-test-secret")
	if cert != "" {
		fmt.Fprintf(&b, "  tls:\n    certificate: %q\n    key: %q\n", cert, key)
	}
	if htpasswd != "" {
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: ctr-lite-test\n    path: %q\n", htpasswd)
	}
	if opts.ProxyRemoteURL != "" {
		fmt.Fprintf(&b, "proxy:\n  remoteurl: %q\n", opts.ProxyRemoteURL)
		if opts.ProxyUser != "" {
			fmt.Fprintf(&b, "  username: %q\n  password: %q\n", opts.ProxyUser, opts.ProxyPassword)
		}
	}
	return b.String()
}

// Transport returns an HTTP transport that trusts the registry's CA.
func (r *Registry) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if r.CAFile != "" {
		pool := x509.NewCertPool()
		if pem, err := os.ReadFile(r.CAFile); err == nil {
			pool.AppendCertsFromPEM(pem)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr
}

// ConfigDir writes a ctr-lite config directory whose
// certs.d/<host>/hosts.toml points at this registry (trusting its CA when
// it has TLS) and returns it.
func (r *Registry) ConfigDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	d := filepath.Join(dir, "certs.d", r.Host)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	toml := fmt.Sprintf("server = %q\n", r.URL)
	if r.CAFile != "" {
		toml += fmt.Sprintf("ca = %q\n", r.CAFile)
	}
	if err := os.WriteFile(filepath.Join(d, "hosts.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// DockerConfig writes a docker config.json with this registry's
// credentials into a new directory and returns it (for DOCKER_CONFIG).
func (r *Registry) DockerConfig(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	auth := encodeAuth(r.User, r.Password)
	js := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, r.Host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// FreePort is a TCP port on 127.0.0.1 nobody listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

// writeCerts makes a CA and a server certificate for 127.0.0.1/localhost.
func writeCerts(t testing.TB, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ctr-lite test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "ca.pem")
	certFile = filepath.Join(dir, "server.pem")
	keyFile = filepath.Join(dir, "server-key.pem")
	write := func(path, typ string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(caFile, "CERTIFICATE", caDER)
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "EC PRIVATE KEY", keyDER)
	return caFile, certFile, keyFile
}
