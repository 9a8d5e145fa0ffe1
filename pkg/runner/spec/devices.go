package spec

import (
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// addDevices applies --device HOST[:CONTAINER[:PERMS]] values, docker's
// spelling: each host device node is made at CONTAINER (default: HOST's
// path) with the host node's type, numbers and mode, and the devices
// cgroup lets the container use it with PERMS (r, w, m; default rwm).
func addDevices(s *specs.Spec, vals []string) error {
	for _, v := range vals {
		parts := strings.Split(v, ":")
		if len(parts) > 3 || parts[0] == "" {
			return fmt.Errorf("%w: --device %q: want HOST[:CONTAINER[:PERMS]]", ErrInvalidOption, v)
		}
		host, ctr, perms := parts[0], parts[0], "rwm"
		if len(parts) > 1 && parts[1] != "" {
			ctr = parts[1]
		}
		if len(parts) > 2 {
			perms = parts[2]
		}
		if perms == "" || strings.Trim(perms, "rwm") != "" || !strings.HasPrefix(ctr, "/") {
			return fmt.Errorf("%w: --device %q: PERMS is some of rwm, CONTAINER an absolute path", ErrInvalidOption, v)
		}
		var st unix.Stat_t
		if err := unix.Stat(host, &st); err != nil {
			return fmt.Errorf("%w: --device %s: %v", ErrInvalidOption, host, err)
		}
		typ := ""
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			typ = "c"
		case unix.S_IFBLK:
			typ = "b"
		default:
			return fmt.Errorf("%w: --device %s: not a device node", ErrInvalidOption, host)
		}
		major, minor := int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		mode := os.FileMode(st.Mode & 0o777)
		uid, gid := st.Uid, st.Gid
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{
			Path: ctr, Type: typ, Major: major, Minor: minor, FileMode: &mode, UID: &uid, GID: &gid,
		})
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{
			Allow: true, Type: typ, Major: &major, Minor: &minor, Access: perms,
		})
	}
	return nil
}
