// Package userns lets an ordinary user run the commands that write or run
// container files as root of a user namespace, as podman does.
//
// Enter re-executes the binary in a new user and mount namespace. Container
// uid 0 is mapped to the caller and, when /etc/subuid and /etc/subgid give
// the caller a range and newuidmap/newgidmap (Debian's uidmap) are
// installed, uids and gids 1..N to that range, so image files keep their
// owners. Without a range only the caller's own id is mapped (0 -> caller),
// with one warning: files of other owners become the caller's and chown to
// them fails inside.
//
// The maps are written from outside by the parent while the child waits: a
// process exec'd before its maps exist has no capabilities, so the child
// (Init, stage one) waits for the parent's go-ahead on a pipe and then
// execs the binary once more, now as uid 0 with every capability in its
// namespace. Inside reports whether the current process is such a child.
package userns
