package reference

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
)

const (
	// DefaultRegistry is the registry a reference without a host names.
	DefaultRegistry = "docker.io"
	// DefaultTag is the tag a reference without tag or digest names.
	DefaultTag = "latest"
	maxLength  = 4096
)

// Reference is a parsed, normalised image reference.
type Reference struct {
	registry   string
	repository string
	tag        string
	digest     digest.Digest
}

// Parse parses s and fills in the defaults docker users expect.
func Parse(s string) (Reference, error) {
	bad := func(why string) (Reference, error) {
		return Reference{}, fmt.Errorf("%w %q: %s", ErrInvalid, s, why)
	}
	if s == "" {
		return bad("empty")
	}
	if len(s) > maxLength {
		return bad("too long")
	}
	rest := s
	var r Reference
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		d, err := digest.Parse(rest[i+1:])
		if err != nil {
			return bad("digest: " + err.Error())
		}
		r.digest = d
		rest = rest[:i]
	}
	// A tag follows the last ':' that comes after the last '/'.
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && i > strings.LastIndexByte(rest, '/') {
		r.tag = rest[i+1:]
		rest = rest[:i]
		if !validTag(r.tag) {
			return bad("tag " + quote(r.tag))
		}
	}
	if rest == "" {
		return bad("no repository")
	}
	r.registry, r.repository = splitHost(rest)
	if !validHost(r.registry) {
		return bad("registry " + quote(r.registry))
	}
	if r.registry == "index.docker.io" || r.registry == "registry-1.docker.io" {
		r.registry = DefaultRegistry
	}
	if r.registry == DefaultRegistry && !strings.Contains(r.repository, "/") {
		r.repository = "library/" + r.repository
	}
	for _, c := range strings.Split(r.repository, "/") {
		if !validComponent(c) {
			return bad("repository component " + quote(c) + " (lowercase letters, digits and separators . _ - only)")
		}
	}
	if len(r.registry)+1+len(r.repository) > 255 {
		return bad("name longer than 255 characters")
	}
	if r.tag == "" && r.digest == "" {
		r.tag = DefaultTag
	}
	return r, nil
}

// splitHost separates a leading registry host from the repository path. The
// first component is a host when it has a dot or a port, or is "localhost"
// (docker's rule), otherwise the reference is on docker.io.
func splitHost(s string) (host, repo string) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return DefaultRegistry, s
	}
	first := s[:i]
	if first == "localhost" || strings.ContainsAny(first, ".:") || strings.HasPrefix(first, "[") ||
		first != strings.ToLower(first) {
		return first, s[i+1:]
	}
	return DefaultRegistry, s
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// Registry is the host (and port) of the registry, "docker.io" for Docker Hub.
func (r Reference) Registry() string { return r.registry }

// Repository is the path inside the registry, e.g. "library/alpine".
func (r Reference) Repository() string { return r.repository }

// Tag is the tag, empty when the reference names only a digest.
func (r Reference) Tag() string { return r.tag }

// Digest is the digest, empty when the reference names only a tag.
func (r Reference) Digest() digest.Digest { return r.digest }

// Name is registry/repository, without tag or digest.
func (r Reference) Name() string { return r.registry + "/" + r.repository }

// Identifier is what the registry is asked for: the digest when there is
// one (a digest wins over a tag), else the tag.
func (r Reference) Identifier() string {
	if r.digest != "" {
		return r.digest.String()
	}
	return r.tag
}

// String is the full normalised form, e.g. docker.io/library/alpine:latest.
func (r Reference) String() string {
	s := r.Name()
	if r.tag != "" {
		s += ":" + r.tag
	}
	if r.digest != "" {
		s += "@" + r.digest.String()
	}
	return s
}

// Familiar is the short form docker prints: "alpine:latest" for Docker Hub
// official images, "user/app:1" for other Hub images, the full name elsewhere.
func (r Reference) Familiar() string {
	return r.FamiliarName() + strings.TrimPrefix(r.String(), r.Name())
}

// FamiliarName is the repository as docker prints it: "alpine", "user/app",
// "localhost:5000/x".
func (r Reference) FamiliarName() string {
	if r.registry == DefaultRegistry {
		return strings.TrimPrefix(r.repository, "library/")
	}
	return r.Name()
}

// WithDigest returns r pinned to d, keeping the tag for display.
func (r Reference) WithDigest(d digest.Digest) Reference {
	r.digest = d
	return r
}

// WithTag returns r with tag t and no digest.
func (r Reference) WithTag(t string) Reference {
	r.tag, r.digest = t, ""
	return r
}

// IsZero reports whether r is the zero value.
func (r Reference) IsZero() bool { return r.repository == "" }
