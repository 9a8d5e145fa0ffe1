package transfer

import (
	"context"

	"github.com/ctrlite/ctr-lite/pkg/reference"
	"github.com/ctrlite/ctr-lite/registry"
)

// OpenSource opens a copy source named on a command line: an image
// reference in a registry, oci:DIR[:TAG] or docker-archive:FILE. done
// releases what it holds (a temporary store).
func OpenSource(ctx context.Context, rc *registry.Client, loc string) (src Source, done func(), err error) {
	ref, err := reference.Parse(loc)
	if err != nil {
		return nil, nil, err
	}
	return FromRegistry(rc, ref), func() {}, nil
}

// OpenTarget opens a copy destination named on a command line (see
// OpenSource); srcLoc names the image in a docker-archive without a name.
func OpenTarget(rc *registry.Client, loc, srcLoc string) (Target, error) {
	ref, err := reference.Parse(loc)
	if err != nil {
		return nil, err
	}
	return ToRegistry(rc, ref), nil
}
