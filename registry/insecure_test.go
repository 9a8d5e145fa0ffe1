package registry

import (
	"errors"
	"net/http"
	"testing"
)

type countRT struct{ n int }

func (c *countRT) RoundTrip(*http.Request) (*http.Response, error) {
	c.n++
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

func TestPlainHTTPPolicy(t *testing.T) {
	c, err := New(Options{ConfigDir: t.TempDir(), Insecure: []string{"10.9.9.9:5000"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		registry string
		plain    bool
	}{
		{"127.0.0.1:5000", true},
		{"localhost:5000", true},
		{"[::1]:5000", true},
		{"10.0.0.1:5000", false}, // private, but not allowed without a flag
		{"192.168.1.10", false},
		{"registry.example.com", false},
		{"10.9.9.9:5000", true}, // --insecure-registry
	}
	for _, tt := range tests {
		t.Run(tt.registry, func(t *testing.T) {
			eps, err := c.endpoints(tt.registry)
			if err != nil {
				t.Fatal(err)
			}
			if up := eps[len(eps)-1]; up.plainOK != tt.plain {
				t.Errorf("plain HTTP allowed = %v, want %v", up.plainOK, tt.plain)
			}
		})
	}
}

func TestHTTPSOnlyRefusesPlainRequests(t *testing.T) {
	inner := &countRT{}
	rt := httpsOnly{inner}
	req, _ := http.NewRequest(http.MethodGet, "http://10.0.0.1:5000/v2/", nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, ErrInsecure) {
		t.Fatalf("plain request: err = %v, want ErrInsecure", err)
	}
	if inner.n != 0 {
		t.Fatal("a plain HTTP request went out")
	}
	req, _ = http.NewRequest(http.MethodGet, "https://10.0.0.1:5000/v2/", nil)
	if _, err := rt.RoundTrip(req); err != nil || inner.n != 1 {
		t.Fatalf("https request: %v (sent %d)", err, inner.n)
	}
}
