#!/usr/bin/env bash
# Boot Debian's kernel under qemu with cgroup v2 only (cgroup_no_v1=all) and
# run ctr-lite's cgroup checks inside. Usage:
#   hack/vm/run.sh BIN IMAGE.tar IMAGE-NAME [KERNEL-ARGS...]
# BIN is the static ctr-lite, IMAGE.tar an archive `ctr-lite export` wrote
# of an image that has busybox. The guest prints "CHECK <name> ok|FAIL ..."
# lines and "VMTEST DONE"; this script prints the console and exits 0 when
# the guest got that far (the caller judges the checks).
set -euo pipefail
bin=${1:?usage: run.sh BIN IMAGE.tar IMAGE-NAME [KERNEL-ARGS...]}
archive=${2:?}
name=${3:?}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
kernel=$(ls -1 /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1)
[ -n "$kernel" ] || { echo "no /boot/vmlinuz-*-amd64: apt-get install linux-image-amd64" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64: apt-get install qemu-system-x86" >&2; exit 1; }

[ -x /bin/busybox ] || { echo "no /bin/busybox: apt-get install busybox-static" >&2; exit 1; }

work=$(mktemp -d /tmp/ctr-lite-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/initramfs"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,newroot,ctr}
cp /bin/busybox "$root/bin/busybox"
for a in $("$root/bin/busybox" --list); do [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done
cp "$bin" "$root/bin/ctr-lite"
# apparmor_parser (Debian's apparmor) and the libraries it links, for the
# AppArmor checks when the kernel is booted with apparmor=1.
if parser=$(command -v apparmor_parser); then
  mkdir -p "$root/sbin"
  cp "$parser" "$root/sbin/apparmor_parser"
  for lib in $(ldd "$parser" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
fi
# newuidmap/newgidmap (Debian's uidmap, setuid root) and their libraries,
# and a user with a subordinate range, for the rootless checks.
for prog in newuidmap newgidmap; do
  if p=$(command -v $prog); then
    cp -p "$p" "$root/bin/$prog"
    for lib in $(ldd "$p" | grep -o '/[^ ]*'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  fi
done
printf 'root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000:u:/home/u:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nu:x:1000:\n' >"$root/etc/group"
echo 'u:100000:65536' >"$root/etc/subuid"
echo 'u:100000:65536' >"$root/etc/subgid"
cp "$archive" "$root/ctr/image.tar"
echo "$name" >"$root/ctr/image.ref"
cp "$here/init" "$root/init"
cp "$here/checks.sh" "$root/ctr/checks.sh"
chmod +x "$root/init" "$root/ctr/checks.sh"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"

# KVM when the host has it, else software emulation (about 30 s to boot);
# Software emulation (tcg) by default: it boots everywhere in about 30 s.
# CTRLITE_VM_ACCEL=kvm uses /dev/kvm, which is faster where it works; on
# this kind of machine a guest hung at boot on it (nested virtualisation
# without the CPU features the kernel wants).
accel=${CTRLITE_VM_ACCEL:-tcg}
timeout 600 qemu-system-x86_64 -machine q35,accel=$accel -m 1024 -smp 2 -nographic -no-reboot \
  -kernel "$kernel" -initrd "$work/initramfs.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3 cgroup_no_v1=all $*" </dev/null | tr -d '\r' | tee "$work/console.log"
grep -q '^VMTEST DONE' "$work/console.log"
