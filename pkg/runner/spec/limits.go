package spec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// AnnotationGroupAdd carries --group-add names for the runner to resolve
// inside the container when Build had no rootfs to read.
const AnnotationGroupAdd = "io.ctr-lite.group-add"

// ulimitNames are docker's --ulimit names.
var ulimitNames = []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
	"nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

// parseUlimits reads docker's --ulimit NAME=SOFT[:HARD] (-1: unlimited).
func parseUlimits(vals []string) ([]specs.POSIXRlimit, error) {
	var out []specs.POSIXRlimit
	for _, v := range vals {
		name, lim, ok := strings.Cut(v, "=")
		if !ok || !slices.Contains(ulimitNames, name) {
			return nil, fmt.Errorf("%w: --ulimit %q: want NAME=SOFT[:HARD], NAME one of %s", ErrInvalidOption, v, strings.Join(ulimitNames, " "))
		}
		soft, hard, two := strings.Cut(lim, ":")
		if !two {
			hard = soft
		}
		s, err1 := parseLimit(soft)
		h, err2 := parseLimit(hard)
		if err1 != nil || err2 != nil || s > h {
			return nil, fmt.Errorf("%w: --ulimit %q: soft and hard must be numbers (or -1), soft <= hard", ErrInvalidOption, v)
		}
		out = append(out, specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(name), Soft: s, Hard: h})
	}
	return out, nil
}

func parseLimit(s string) (uint64, error) {
	if s == "-1" || s == "unlimited" {
		return ^uint64(0), nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// AdditionalGroupsIn resolves --group-add values (group names or numeric
// ids) against the group file of the tree at root.
func AdditionalGroupsIn(root string, groups []string) ([]uint32, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	gf, err := openInRoot(root, "etc/group")
	if err != nil {
		return nil, fmt.Errorf("--group-add: %w", err)
	}
	defer closeReader(gf)
	ids, err := user.GetAdditionalGroups(groups, gf)
	if err != nil {
		return nil, fmt.Errorf("%w: --group-add: %v", ErrInvalidOption, err)
	}
	out := make([]uint32, 0, len(ids))
	for _, id := range ids {
		if id < 0 || int64(id) > 1<<32-2 {
			return nil, fmt.Errorf("%w: --group-add: group id %d out of range", ErrInvalidOption, id)
		}
		out = append(out, uint32(id))
	}
	return out, nil
}

// shmOption is the tmpfs size option of /dev/shm (docker's default 64 MiB).
func shmOption(size int64) string {
	if size <= 0 {
		return "size=65536k"
	}
	return "size=" + strconv.FormatInt(size, 10)
}
