package content

import (
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctrlite/ctr-lite/pkg/mediatype"
)

// FuzzChildren decodes arbitrary manifests and indexes under every media
// type gc and fsck meet: no panic, and children only from a document that
// parsed as one.
func FuzzChildren(f *testing.F) {
	f.Add(ocispec.MediaTypeImageManifest, []byte(`{"schemaVersion":2,"config":{"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},"layers":[]}`))
	f.Add(mediatype.DockerManifestList, []byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":1}]}`))
	f.Add("", []byte(`{"manifests":null}`))
	f.Add(ocispec.MediaTypeImageLayerGzip, []byte("\x1f\x8b"))
	f.Fuzz(func(t *testing.T, mt string, data []byte) {
		d := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(data), Size: int64(len(data))}
		kids, err := Children(d, data)
		if err != nil && len(kids) != 0 {
			t.Fatalf("children %v with error %v", kids, err)
		}
	})
}
