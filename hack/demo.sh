#!/usr/bin/env bash
# make demo: the main job, offline. Start a local registry, push an image
# built from what this machine has, then pull, inspect and run it: in the foreground,
# then detached (run -d, ps, logs, exec, stop).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CTRLITE_BIN:-bin/ctr-lite}
work=$(mktemp -d /tmp/ctr-lite-demo.XXXXXX)
cleanup() {
  [ -n "${CTRLITE_ROOT:-}" ] && "$BIN" rm -f ticker >/dev/null 2>&1 || true
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
say ctr-lite run -d --name ticker "$ref" sh -c "'trap \"exit 0\" TERM; i=0; while true; do i=\$((i+1)); echo tick \$i; sleep 0.2; done'"
"$BIN" run -d --name ticker "$ref" sh -c 'trap "exit 0" TERM; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done'
sleep 1
say ctr-lite ps;                          "$BIN" ps
say ctr-lite logs --tail 3 ticker;        "$BIN" logs --tail 3 ticker
say ctr-lite exec ticker ps;              "$BIN" exec ticker ps
say ctr-lite stop -t 2 ticker;            "$BIN" stop -t 2 ticker
say ctr-lite ps -a;                       "$BIN" ps -a
say ctr-lite rm ticker;                   "$BIN" rm ticker
echo; echo "demo done: every step above ran against the local registry at $host"
