#!/usr/bin/env bash
# make demo: the main job, offline. Start a local registry, push an image
# built from what this machine has, then pull, inspect and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CTRLITE_BIN:-bin/ctr-lite}
work=$(mktemp -d /tmp/ctr-lite-demo.XXXXXX)
cleanup() {
  [ -f "$work/reg/registry.pid" ] && kill "$(cat "$work/reg/registry.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

host=$(hack/registry.sh "$work/reg")
echo "registry listening on $host"

# The image: the Alpine minirootfs from the test corpus when it is here,
# else a busybox image built from Debian's busybox-static.
rootfs="$work/rootfs"; mkdir -p "$rootfs"
alpine="${CTRLITE_CORPUS:-../shared/corpus}/alpine-minirootfs-3.20.3-x86_64.tar.gz"
if [ -f "$alpine" ]; then
  tar -xzf "$alpine" -C "$rootfs" --numeric-owner
  ref="$host/demo/alpine:3.20"
else
  mkdir -p "$rootfs"/{bin,etc,tmp,root}
  cp /bin/busybox "$rootfs/bin/busybox"
  for a in $("$rootfs/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"; done
  printf 'NAME="BusyBox"\nPRETTY_NAME="%s (Debian busybox-static, ctr-lite demo)"\n' "$(/bin/busybox | head -1)" >"$rootfs/etc/os-release"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  ref="$host/demo/busybox:latest"
fi
go run ./hack/mkimage -dir "$rootfs" -push "$ref" -cmd /bin/sh

export CTRLITE_ROOT="$work/root"
say ctr-lite pull "$ref";                 "$BIN" pull "$ref"
say ctr-lite pull "$ref" '(again)';       "$BIN" pull "$ref"
say ctr-lite images;                      "$BIN" images
say ctr-lite inspect layers "$ref";       "$BIN" inspect layers "$ref"
say ctr-lite run --rm "$ref" sh -c "'cat /etc/os-release; echo; id; hostname; ps'"
"$BIN" run --rm "$ref" sh -c 'cat /etc/os-release; echo; id; hostname; ps'
echo; echo "demo done: every step above ran against the local registry at $host"
