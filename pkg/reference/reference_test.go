package reference

import (
	"errors"
	"strings"
	"testing"
)

const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParse(t *testing.T) {
	tests := []struct {
		in, full, registry, repo, tag, familiar string
	}{
		{"alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest", "alpine:latest"},
		{"alpine:3.20", "docker.io/library/alpine:3.20", "docker.io", "library/alpine", "3.20", "alpine:3.20"},
		{"user/app", "docker.io/user/app:latest", "docker.io", "user/app", "latest", "user/app:latest"},
		{"docker.io/alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest", "alpine:latest"},
		{"index.docker.io/library/alpine:1", "docker.io/library/alpine:1", "docker.io", "library/alpine", "1", "alpine:1"},
		{"localhost:5000/x:1", "localhost:5000/x:1", "localhost:5000", "x", "1", "localhost:5000/x:1"},
		{"localhost/x", "localhost/x:latest", "localhost", "x", "latest", "localhost/x:latest"},
		{"127.0.0.1:5000/a/b/c:v1.2", "127.0.0.1:5000/a/b/c:v1.2", "127.0.0.1:5000", "a/b/c", "v1.2", "127.0.0.1:5000/a/b/c:v1.2"},
		{"[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000", "x", "latest", "[::1]:5000/x:latest"},
		{"ghcr.io/a/b@" + dgst, "ghcr.io/a/b@" + dgst, "ghcr.io", "a/b", "", "ghcr.io/a/b@" + dgst},
		{"name:tag@" + dgst, "docker.io/library/name:tag@" + dgst, "docker.io", "library/name", "tag", "name:tag@" + dgst},
		{"my-org/my_app__x.y", "docker.io/my-org/my_app__x.y:latest", "docker.io", "my-org/my_app__x.y", "latest", "my-org/my_app__x.y:latest"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tt.full || r.Registry() != tt.registry || r.Repository() != tt.repo || r.Tag() != tt.tag {
				t.Errorf("Parse(%q) = %s (registry %q repo %q tag %q)", tt.in, r, r.Registry(), r.Repository(), r.Tag())
			}
			if r.Familiar() != tt.familiar {
				t.Errorf("Familiar = %q, want %q", r.Familiar(), tt.familiar)
			}
			again, err := Parse(r.String())
			if err != nil || again != r {
				t.Errorf("round trip %q -> %v, %v", r.String(), again, err)
			}
		})
	}
}

func mustParse(t *testing.T, s string) Reference {
	t.Helper()
	r, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDigestWins(t *testing.T) {
	r := mustParse(t, "name:tag@"+dgst)
	if r.Identifier() != dgst {
		t.Fatalf("Identifier = %q, want the digest", r.Identifier())
	}
	if mustParse(t, "name:tag").Identifier() != "tag" {
		t.Fatal("tag-only reference should resolve by tag")
	}
}

func TestParseInvalid(t *testing.T) {
	for _, in := range []string{
		"", "UPPER", "a//b", "a/", "/a", ":tag", "a:", "a:-bad", "a@sha256:short", "a@md5:00",
		"bad host!/x", "a/b:" + strings.Repeat("t", 129), "a..b", "-a", "a-", "a/_b",
		"x/" + strings.Repeat("a", 300),
	} {
		t.Run(in, func(t *testing.T) {
			_, err := Parse(in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) err = %v, want ErrInvalid", in, err)
			}
			if in != "" && len(in) < 100 && !strings.Contains(err.Error(), in) {
				t.Errorf("error %q does not quote the input", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"alpine", "localhost:5000/x:1", "ghcr.io/a/b@" + dgst, "name:tag@" + dgst, "[::1]:5000/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		// A parsed reference prints to a form that parses to itself.
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("Parse(%q) ok but String %q does not parse: %v", s, r.String(), err)
		}
		if again != r {
			t.Fatalf("round trip changed %q: %+v != %+v", s, again, r)
		}
		if r.Tag() == "" && r.Digest() == "" {
			t.Fatalf("%q: neither tag nor digest", s)
		}
	})
}
