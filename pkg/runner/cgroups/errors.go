package cgroups

import "errors"

// ErrNotFound means the cgroup does not exist.
var ErrNotFound = errors.New("cgroup not found")
