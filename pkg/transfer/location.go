package transfer

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/registry"
)

// Transport prefixes of copy locations (skopeo's names).
const (
	prefixOCI           = "oci:"
	prefixDockerArchive = "docker-archive:"
)

// splitLayout splits DIR[:TAG]: a tag follows the last ':' after the
// last '/'.
func splitLayout(s string) (dir, tag string) {
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// splitArchive splits FILE[:NAME] at the first ':', as skopeo does.
func splitArchive(s string) (file, name string) {
	file, name, _ = strings.Cut(s, ":")
	return file, name
}

// OpenSource opens a copy source named on a command line: an image
// reference in a registry, oci:DIR[:TAG] or docker-archive:FILE. done
// releases what it holds (a temporary store).
func OpenSource(ctx context.Context, rc *registry.Client, loc string) (src Source, done func(), err error) {
	switch {
	case strings.HasPrefix(loc, prefixOCI):
		dir, tag := splitLayout(strings.TrimPrefix(loc, prefixOCI))
		return FromLayout(dir, tag), func() {}, nil
	case strings.HasPrefix(loc, prefixDockerArchive):
		file, _ := splitArchive(strings.TrimPrefix(loc, prefixDockerArchive))
		return FromDockerArchive(ctx, file)
	}
	ref, err := reference.Parse(loc)
	if err != nil {
		return nil, nil, err
	}
	return FromRegistry(rc, ref), func() {}, nil
}

// OpenTarget opens a copy destination named on a command line (see
// OpenSource; docker-archive:FILE[:NAME]). A docker-archive's image is
// named NAME, else after srcLoc when that is a registry reference.
func OpenTarget(rc *registry.Client, loc, srcLoc string) (dst Target, done func(), err error) {
	switch {
	case strings.HasPrefix(loc, prefixOCI):
		dir, tag := splitLayout(strings.TrimPrefix(loc, prefixOCI))
		return ToLayout(dir, tag), func() {}, nil
	case strings.HasPrefix(loc, prefixDockerArchive):
		file, name := splitArchive(strings.TrimPrefix(loc, prefixDockerArchive))
		if name == "" && !strings.HasPrefix(srcLoc, prefixOCI) && !strings.HasPrefix(srcLoc, prefixDockerArchive) {
			name = srcLoc
		}
		if name == "" {
			return nil, nil, fmt.Errorf("copy to %s: name the image: docker-archive:FILE:NAME", loc)
		}
		ref, err := reference.Parse(name)
		if err != nil {
			return nil, nil, err
		}
		return ToDockerArchive(file, ref)
	}
	ref, err := reference.Parse(loc)
	if err != nil {
		return nil, nil, err
	}
	return ToRegistry(rc, ref), func() {}, nil
}
