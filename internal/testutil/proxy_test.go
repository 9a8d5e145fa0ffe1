package testutil

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestFaultProxy(t *testing.T) {
	reg := StartRegistry(t, RegistryOptions{})
	img := AlpineImage(t)
	PushImage(t, reg, "library/alpine:1", img)
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	rc, _ := layers[0].Compressed()
	full, _ := io.ReadAll(rc)
	rc.Close()
	blob := "/v2/library/alpine/blobs/" + ld.String()
	manifest := "/v2/library/alpine/manifests/1"

	get := func(p *FaultProxy, path, rng string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", p.URL+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}

	tests := []struct {
		name  string
		fault Fault
		path  string
		rng   string
		check func(t *testing.T, resp *http.Response, body []byte, err error)
	}{
		{"no fault", Fault{}, blob, "", func(t *testing.T, resp *http.Response, b []byte, err error) {
			if err != nil || !bytes.Equal(b, full) {
				t.Fatalf("%d bytes, %v", len(b), err)
			}
		}},
		{"status", Fault{Kind: FaultStatus, Status: 429, RetryAfter: "3"}, blob, "", func(t *testing.T, resp *http.Response, b []byte, err error) {
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
				t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		}},
		{"cut", Fault{Kind: FaultCut, After: 1000}, blob, "", func(t *testing.T, resp *http.Response, b []byte, err error) {
			if err == nil || len(b) != 1000 || !bytes.Equal(b, full[:1000]) {
				t.Fatalf("%d bytes, %v", len(b), err)
			}
		}},
		{"flip", Fault{Kind: FaultFlipByte, After: 10}, blob, "", func(t *testing.T, resp *http.Response, b []byte, err error) {
			if err != nil || len(b) != len(full) || b[10] != full[10]^0xff || !bytes.Equal(b[11:], full[11:]) {
				t.Fatalf("byte 10 not flipped alone (%v)", err)
			}
		}},
		{"range passes", Fault{}, blob, "bytes=100-", func(t *testing.T, resp *http.Response, b []byte, err error) {
			if resp.StatusCode != 206 || !bytes.Equal(b, full[100:]) {
				t.Fatalf("%d, %d bytes", resp.StatusCode, len(b))
			}
		}},
		{"ignore range", Fault{Kind: FaultIgnoreRange}, blob, "bytes=100-", func(t *testing.T, resp *http.Response, b []byte, err error) {
			if resp.StatusCode != 200 || !bytes.Equal(b, full) {
				t.Fatalf("%d, %d bytes", resp.StatusCode, len(b))
			}
		}},
		{"huge length", Fault{Kind: FaultHugeLen}, blob, "", func(t *testing.T, resp *http.Response, b []byte, err error) {
			if resp.ContentLength != 5_000_000_000 || err == nil {
				t.Fatalf("Content-Length %d, err %v", resp.ContentLength, err)
			}
		}},
		{"wrong length", Fault{Kind: FaultWrongLen, Delta: 5}, blob, "", func(t *testing.T, resp *http.Response, b []byte, err error) {
			if resp.ContentLength != int64(len(full))+5 || err == nil {
				t.Fatalf("Content-Length %d, err %v", resp.ContentLength, err)
			}
		}},
		{"self index", Fault{Kind: FaultSelfIndex}, manifest, "", func(t *testing.T, resp *http.Response, b []byte, err error) {
			var idx struct {
				Manifests []struct {
					Digest string
					Size   int
				}
			}
			if err := json.Unmarshal(b, &idx); err != nil || len(idx.Manifests) != 1 ||
				idx.Manifests[0].Digest != SelfIndexDigest() || idx.Manifests[0].Size != len(b) {
				t.Fatalf("%s (%v)", b, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := StartFaultProxy(t, reg)
			if tc.fault.Kind != "" {
				tc.fault.Times = 1
				p.Add(tc.fault)
			}
			resp, b, err := get(p, tc.path, tc.rng)
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			tc.check(t, resp, b, err)
			log := p.Log()
			if len(log) != 1 || log[0].Path != tc.path || log[0].Range != tc.rng || log[0].Fault != tc.fault.Kind {
				t.Fatalf("log %+v", log)
			}
			// Times: 1 means the next request is served faithfully.
			_, b, err = get(p, blob, "")
			if err != nil || !bytes.Equal(b, full) {
				t.Fatalf("second request: %d bytes, %v", len(b), err)
			}
			if got := len(p.BlobGets(ld.String())); got != 1+boolInt(tc.path == blob) {
				t.Fatalf("BlobGets %d", got)
			}
		})
	}

	t.Run("bad layer", func(t *testing.T) {
		p := StartFaultProxy(t, reg)
		p.Add(Fault{Kind: FaultBadLayer, Path: "/manifests/"})
		_, b, err := get(p, manifest, "")
		if err != nil {
			t.Fatal(err)
		}
		fake, ok := p.BogusLayerDigest(ld.String())
		if !ok || !strings.Contains(string(b), fake) || strings.Contains(string(b), ld.String()) {
			t.Fatalf("manifest not rewritten: %s", b)
		}
		_, body, err := get(p, "/v2/library/alpine/blobs/"+fake, "")
		if err != nil || !bytes.Equal(body, full) {
			t.Fatalf("bogus digest not served with the real bytes (%v)", err)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
