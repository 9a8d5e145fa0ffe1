package apparmor

import "strings"

// Profile is the text of the default profile under name. It allows what
// an unconfined container process may do (files, network, capabilities,
// signals within the profile) and denies, as docker-default does: writes
// to /proc files outside the process's own entries and kernel.sh* sysctls,
// sysrq and kcore, every mount, writes below /sys except the cgroup
// filesystem, firmware, powercap and securityfs, and ptrace outside the
// profile.
func Profile(name string) string {
	return strings.ReplaceAll(`profile NAME flags=(attach_disconnected,mediate_deleted) {
  network,
  capability,
  file,
  umount,
  signal (receive) peer=unconfined,
  signal (send,receive) peer=NAME,
  ptrace (trace,read,tracedby,readby) peer=NAME,

  deny /proc/* w,
  deny /proc/{[^1-9],[^1-9][^0-9],[^1-9s][^0-9y][^0-9s],[^1-9][^0-9][^0-9][^0-9/]*}/** w,
  deny /proc/sys/[^k]** w,
  deny /proc/sys/kernel/{?,??,[^s][^h][^m]**} w,
  deny /proc/sysrq-trigger rwklx,
  deny /proc/kcore rwklx,

  deny mount,

  deny /sys/[^f]*/** wklx,
  deny /sys/f[^s]*/** wklx,
  deny /sys/fs/[^c]*/** wklx,
  deny /sys/fs/c[^g]*/** wklx,
  deny /sys/fs/cg[^r]*/** wklx,
  deny /sys/firmware/** rwklx,
  deny /sys/devices/virtual/powercap/** rwklx,
  deny /sys/kernel/security/** rwklx,
}
`, "NAME", name)
}
