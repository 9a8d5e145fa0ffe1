// Package archive moves images between the content store and files:
// Import reads a docker-save tarball (classic layout, or Docker 25+'s
// OCI-in-save), an oci-archive tarball or an OCI layout directory, verifying
// every blob; Export writes a docker-archive or oci-archive tarball that
// docker load, podman load and skopeo accept.
package archive
