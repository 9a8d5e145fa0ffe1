package mediatype

import ocispec "github.com/opencontainers/image-spec/specs-go/v1"

// Docker's schema 2 media types, which ctr-lite treats like OCI's.
const (
	DockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	DockerConfig       = "application/vnd.docker.container.image.v1+json"
)

// Docker's schema 1 media types, which ctr-lite refuses.
const (
	DockerSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// MaxManifestSize caps the manifests and indexes ctr-lite reads into
// memory, from a registry, the store or an archive.
const MaxManifestSize = 4 << 20

// MaxLayers is the most layers an image may have: overlayfs stacks at
// most 500 layers (the kernel's OVL_MAX_STACK, reached on Linux 6.8 and
// later through lowerdir+), so no container could run on more. Pull
// refuses a manifest above it before downloading any blob.
const MaxLayers = 500

// IsIndex reports whether mt is an OCI image index or a Docker manifest list.
func IsIndex(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == DockerManifestList
}

// IsManifest reports whether mt is an OCI or Docker schema 2 image manifest.
func IsManifest(mt string) bool {
	return mt == ocispec.MediaTypeImageManifest || mt == DockerManifest
}

// IsSchema1 reports whether mt is a Docker schema 1 manifest.
func IsSchema1(mt string) bool {
	return mt == DockerSchema1 || mt == DockerSchema1Signed
}
