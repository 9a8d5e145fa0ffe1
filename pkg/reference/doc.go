// Package reference parses image references the way docker does and
// normalises them: "alpine" is docker.io/library/alpine:latest, "user/app"
// is docker.io/user/app:latest, and a digest wins over a tag when both are
// given ("name:tag@sha256:..." keeps the tag for display but resolves by
// digest).
package reference
