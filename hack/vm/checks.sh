#!/bin/sh
# Stage 2, inside the VM: cgroup v2 only (no CNI plugins here: runs use --network none). Each check prints one line,
# "CHECK <name> ok" or "CHECK <name> FAIL <what was seen>".
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs tmp /tmp
export CTRLITE_ROOT=/var/lib/ctr-lite
img=$(cat /ctr/image.ref)
check() { # name, got, want
  if [ "$2" = "$3" ]; then echo "CHECK $1 ok"; else echo "CHECK $1 FAIL got [$2] want [$3]"; fi
}
echo "VMTEST kernel $(uname -r), cgroup: $(stat -f -c %T /sys/fs/cgroup), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
ctr-lite import /ctr/image.tar >/tmp/import.log 2>&1 || { echo "CHECK import FAIL $(cat /tmp/import.log)"; }
find /sys/fs/cgroup -type d | sort >/tmp/cg.before

mkdir -p /tmp/v1
mount -t cgroup -o memory none /tmp/v1 2>/dev/null && v1=mounted || v1=refused
check cgroup2-only "$(grep -c 'cgroup_no_v1=all' /proc/cmdline) $v1" "1 refused"
check memory-max "$(ctr-lite run --rm --network none --memory 32m "$img" cat /sys/fs/cgroup/memory.max 2>/tmp/err)" "33554432"
ctr-lite run --rm --network none --memory 32m "$img" sh -c 'tail /dev/zero' >/dev/null 2>&1
check memory-oom-exit "$?" "137"
check pids-max "$(ctr-lite run --rm --network none --pids-limit 10 "$img" cat /sys/fs/cgroup/pids.max 2>/tmp/err)" "10"
# 30 background sleeps under a limit of 10, from a subshell (a shell that
# cannot fork exits); builtins then read the counters, as no more
# processes may be forked.
n=$(ctr-lite run --rm --network none --pids-limit 10 "$img" sh -c '(i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done) 2>/dev/null
read cur </sys/fs/cgroup/pids.current; while read k v; do [ "$k" = max ] && refused=$v; done </sys/fs/cgroup/pids.events
echo "$cur $refused"' 2>/dev/null)
set -- $n
[ -n "$1" ] && [ "$1" -le 10 ] && [ "${2:-0}" -gt 0 ] && check pids-fork-capped yes yes || check pids-fork-capped "current/refused: $n" "at most 10 running, some refused"
check cpu-max "$(ctr-lite run --rm --network none --cpus 0.5 "$img" cat /sys/fs/cgroup/cpu.max 2>/tmp/err)" "50000 100000"
# /dev/kmsg (char 1:11) exists in the guest and is not in the default
# device list: mknod works (CAP_MKNOD), opening it must be refused.
check device-denied "$(ctr-lite run --rm --network none "$img" sh -c 'mknod /tmp/m c 1 11 || { echo mknod-failed; exit; }; head -c1 /tmp/m >/dev/null 2>&1 && echo read || echo denied' 2>/dev/null)" "denied"

# AppArmor, when the kernel runs it: the default profile confines every
# container, and is what refuses a mount that CAP_SYS_ADMIN allows: the
# same container with apparmor=unconfined mounts. (deny rules are quiet,
# as docker's are: the refusal is not logged.)
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; then
  mount -t securityfs securityfs /sys/kernel/security
  check apparmor-default "$(ctr-lite run --rm --network none "$img" cat /proc/self/attr/current 2>/dev/null)" "ctr-lite-default (enforce)"
  mnt='mount -t tmpfs none /tmp && echo mounted || echo refused'
  check apparmor-denies-mount "$(ctr-lite run --rm --network none --cap-add SYS_ADMIN "$img" sh -c "$mnt" 2>/dev/null)" "refused"
  check apparmor-unconfined-mounts "$(ctr-lite run --rm --network none --cap-add SYS_ADMIN --security-opt apparmor=unconfined "$img" sh -c "$mnt" 2>/dev/null)" "mounted"
fi
# Rootless, as a user (uid 1000, range 100000-165535) whom systemd
# delegated a cgroup subtree (user@1000.service, its own, with memory,
# pids and cpu): ctr-lite re-runs itself in a user namespace and the
# container's cgroup, with its limits, goes under that subtree.
svc=/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service
mkdir -p $svc/session.scope /home/u
for d in /sys/fs/cgroup /sys/fs/cgroup/user.slice /sys/fs/cgroup/user.slice/user-1000.slice $svc; do
  echo "+memory +pids +cpu" >$d/cgroup.subtree_control
done
chown -R 1000:1000 $svc /home/u
chmod 644 /ctr/image.tar
# as_u ARGS: ctr-lite ARGS as u, from a process in u's session cgroup.
cat >/tmp/as_u <<EOF
#!/bin/sh
echo \$\$ >$svc/session.scope/cgroup.procs || exit 125
exec su -s /bin/sh -c 'HOME=/home/u exec ctr-lite --root /home/u/root "\$@"' -- u as_u "\$@"
EOF
chmod +x /tmp/as_u
as_u() { /tmp/as_u "$@"; }
check_u() { # check, and on failure the stderr of the command (in /tmp/err)
  check "$@"
  [ "$2" = "$3" ] || echo "VMTEST $1 stderr: $(head -c 400 /tmp/err | tr '\n' ' ')"
}
as_u import /ctr/image.tar >/tmp/import-u.log 2>&1 || echo "CHECK rootless-import FAIL $(cat /tmp/import-u.log)"
check_u rootless-id "$(as_u run --rm --network none "$img" id -u 2>/tmp/err)" "0"
check_u rootless-memory-max "$(as_u run --rm --network none --memory 32m "$img" cat /sys/fs/cgroup/memory.max 2>/tmp/err)" "33554432"
check_u rootless-pids-max "$(as_u run --rm --network none --pids-limit 10 "$img" cat /sys/fs/cgroup/pids.max 2>/tmp/err)" "10"
check rootless-cgroups-under-delegation "$(test -d $svc/ctr-lite && find $svc/ctr-lite -mindepth 1 -type d | wc -l)" "0"
find /sys/fs/cgroup -type d | sort >/tmp/cg.after
# The parent, /sys/fs/cgroup/ctr-lite, stays as a slice would; nothing below it.
check no-cgroup-left "$(diff /tmp/cg.before /tmp/cg.after | grep '^[+]/sys/fs/cgroup/ctr-lite/\|^[+]'$svc'/ctr-lite/' | tr '\n' ' ')" ""
echo "VMTEST DONE"
poweroff -f
