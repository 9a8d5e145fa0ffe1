// Package registry talks to OCI distribution registries: it resolves a
// reference to a manifest descriptor, fetches manifests (size-capped and
// verified) and streams blobs with HTTP Range so interrupted downloads can
// resume. The push side checks blobs with HEAD, mounts them across
// repositories, uploads them in chunks that resume from the upload
// session's Range after a failure, and puts manifests byte for byte; a
// refused push names the push scope. Credentials come from docker's
// config.json, credential helpers and podman's auth.json; per-host TLS,
// plain HTTP and ordered mirrors come from containerd-style hosts.toml files. Transient failures (connection resets,
// 5xx, 429 with Retry-After) are retried with bounded backoff.
//
// It is built on go-containerregistry's authn and transport packages (ping,
// basic and bearer token flows); the HTTP requests themselves are ours, for
// precise control of Range, size limits and error reporting.
package registry
