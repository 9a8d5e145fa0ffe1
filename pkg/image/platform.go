package image

import (
	"fmt"
	"runtime"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Platform is os/arch[/variant].
type Platform struct {
	OS, Architecture, Variant string
}

// HostPlatform is the platform of the running binary.
func HostPlatform() Platform {
	p := Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	if p.Architecture == "arm" {
		p.Variant = "v7"
	}
	return p
}

// ParsePlatform parses "os/arch[/variant]"; an empty string is the host.
func ParsePlatform(s string) (Platform, error) {
	if s == "" {
		return HostPlatform(), nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Platform{}, fmt.Errorf("platform %q: want os/arch[/variant]", s)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	if p.Architecture == "arm64" && p.Variant == "v8" {
		p.Variant = ""
	}
	return p, nil
}

// String is "os/arch[/variant]", or "unknown" for an image that does not
// say (a config without os and architecture).
func (p Platform) String() string {
	if p.OS == "" && p.Architecture == "" {
		return "unknown"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Matches reports whether an index entry's platform is p. An entry's empty
// variant matches any wanted variant of the same architecture only when p
// names none (arm64's "v8" is treated as empty).
func (p Platform) Matches(o *ocispec.Platform) bool {
	if o == nil {
		return false
	}
	v := o.Variant
	if o.Architecture == "arm64" && v == "v8" {
		v = ""
	}
	return o.OS == p.OS && o.Architecture == p.Architecture && (p.Variant == "" || v == p.Variant)
}
