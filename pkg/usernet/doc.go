// Package usernet gives a container run without privilege a user-mode
// network: pasta (Debian's passt) or slirp4netns, attached to the
// container's own network namespace before its process starts. Traffic
// leaves through the ordinary sockets of the program, as the user's own;
// nothing on the host needs privilege.
//
// pasta runs in the foreground as a child of ctr-lite (killed with it). It
// gets the namespace as an open file, since it drops the capabilities that
// opening another process's namespace needs, and it is ready once it has
// written its pid file, which it does after configuring the namespace
// (--config-net: the host's addresses and routes; the gateway address
// reaches the host's loopback). slirp4netns configures tap0 (10.0.2.100/24,
// gateway 10.0.2.2, which reaches the host's loopback), says when it is
// ready on a pipe, and exits when the pipe ctr-lite holds closes.
package usernet
