package image

import "errors"

var (
	// ErrPlatformNotFound: the index has no manifest for the wanted platform.
	ErrPlatformNotFound = errors.New("no manifest for platform")
	// ErrInvalid: a manifest, index or config that does not decode or breaks a limit.
	ErrInvalid = errors.New("invalid image")
	// ErrNotStored: the image is not in the local store.
	ErrNotStored = errors.New("image not stored")
)
