package archive

import "errors"

var (
	// ErrUnknownFormat: the input is neither a docker-save tarball nor an OCI layout.
	ErrUnknownFormat = errors.New("not a docker-save tarball, oci-archive or OCI layout (no manifest.json or index.json)")
	// ErrNoImages: the archive's manifest lists no image.
	ErrNoImages = errors.New("archive lists no images")
	// ErrMissingFile: the archive's manifest names a file it does not contain.
	ErrMissingFile = errors.New("file missing from archive")
	// ErrUnknownFormatName: Export was asked for a format other than docker or oci.
	ErrUnknownFormatName = errors.New(`unknown export format (want "docker" or "oci")`)
)
