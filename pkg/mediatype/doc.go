// Package mediatype is the vocabulary of image documents shared by the
// registry client, the content store and the image model: Docker's media
// types, how to tell an index from a manifest, and how large a manifest or
// index may be. OCI's media types are image-spec's ocispec.MediaType*
// constants, used as they are.
package mediatype
