#!/usr/bin/env bash
# bench/run.sh: the benchmark lab behind `make bench`. It installs the peer
# tools when missing, starts a registry on 127.0.0.1, pushes the corpus and
# a generated large image, times each task with ctr-lite and its peers
# (alternating tools, cold and warm), and writes bench/results/results.{md,json,svg}.
# See bench/README.md.
#
# Environment:
#   BENCH_QUICK=1        ~60 MB large image instead of ~600 MB
#   BENCH_RUNS=N         timed runs per task, image and tool (default 5)
#   BENCH_TASKS="..."    subset of: pull-cold re-pull pull-unpack unpack-store run efficiency copy
#                        startup run-layers (all by default)
#   BENCH_SEED=N         seed of the generated image (default 1)
#   BENCH_WORK=DIR       parent of the scratch directory (default /dev/shm when
#                        it has 8 GiB free, else /tmp)
#   BENCH_KEEP=1         keep the scratch directory
#   CTRLITE_BIN          ctr-lite binary (default bin/ctr-lite)
#   CTRLITE_CORPUS       corpus directory (default ../shared/corpus)
set -uo pipefail # no -e: one failing tool never stops the run
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
RES=$ROOT/bench/results
RUNS=${BENCH_RUNS:-5}
QUICK=${BENCH_QUICK:-0}
SEED=${BENCH_SEED:-1}
TASKS=${BENCH_TASKS:-pull-cold re-pull pull-unpack unpack-store run run-layers startup efficiency copy}
CORPUS=${CTRLITE_CORPUS:-$ROOT/../shared/corpus}
CTRLITE=${CTRLITE_BIN:-$ROOT/bin/ctr-lite}
TIMEOUT=${BENCH_TIMEOUT:-900}
mkdir -p "$RES/bin" "$RES/cache"
# Scratch on tmpfs when there is room (as in the issue's measurements: the
# disk is not what we compare), else /tmp.
if [ -z "${BENCH_WORK:-}" ]; then
  BENCH_WORK=/tmp
  shm_free=$(df -k --output=avail /dev/shm 2>/dev/null | tail -n 1)
  [ "${shm_free:-0}" -gt $((8 << 20)) ] 2>/dev/null && BENCH_WORK=/dev/shm
fi
W=$(mktemp -d "$BENCH_WORK/ctrlite-bench.XXXXXX")
TSV=$RES/results.tsv
ENVTXT=$RES/env.txt
GOBIN_DIR=$(go env GOPATH)/bin
export PATH=$PATH:$GOBIN_DIR:$RES/bin

log() { printf 'bench: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- peers

APT_PEERS=(docker-registry skopeo umoci runc crun containerd time jq zstd tar gzip curl util-linux busybox-static)
install_peers() {
  local missing=() p
  for p in "${APT_PEERS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && have apt-get; then
      log "installing: ${missing[*]}"
      apt-get update -qq >/dev/null 2>&1
      if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
        for p in "${missing[@]}"; do # one at a time, so one missing package skips only its peer
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
            log "note: could not install $p; its rows will say n/a"
        done
      fi
    else
      log "note: missing packages (not root or no apt): ${missing[*]}; their rows will say n/a"
    fi
  fi
  if ! have crane; then
    local v
    v=$(go list -m -f '{{.Version}}' github.com/google/go-containerregistry 2>/dev/null || echo v0.22.1)
    log "installing crane $v"
    go install "github.com/google/go-containerregistry/cmd/crane@$v" >/dev/null 2>&1 ||
      log "note: could not install crane; its rows will say n/a"
  fi
  for p in /usr/bin/time curl jq; do
    have "$p" || { log "fatal: $p is required"; exit 1; }
  done
}

build_helpers() {
  local p
  for p in genimage refwalk report; do
    go build -o "$RES/bin/$p" "./bench/$p" || { log "fatal: cannot build bench/$p"; exit 1; }
  done
  # The start-up floor: a static Go hello world, built like ctr-lite.
  CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$RES/bin/hello" ./bench/hello || { log "fatal: cannot build bench/hello"; exit 1; }
  go build -o "$RES/bin/mkimage" ./hack/mkimage || { log "fatal: cannot build hack/mkimage"; exit 1; }
  [ -x "$CTRLITE" ] || log "note: $CTRLITE is missing: ctr-lite rows will say n/a (run make build)"
}

# ---------------------------------------------------------------- measuring

# measure TASK IMAGE TOOL RUN CMD... times CMD with GNU time (user, sys,
# peak RSS) and bash's clock (wall, microseconds) and appends a row to
# results.tsv. A failing command is recorded with its error; never fatal.
measure() {
  local task=$1 image=$2 tool=$3 run=$4 t0 t1 rc wall user sys rss status=ok note=""
  shift 4
  : >"$W/time.out"
  t0=$EPOCHREALTIME
  /usr/bin/time -o "$W/time.out" -f '%e %U %S %M' timeout "$TIMEOUT" "$@" >"$W/cmd.out" 2>"$W/cmd.err" </dev/null
  rc=$?
  t1=$EPOCHREALTIME
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
  read -r _ user sys rss < <(tail -n 1 "$W/time.out")
  if [ "$rc" -ne 0 ]; then
    status=error
    note=$(grep -v '^\s*$' "$W/cmd.err" | grep -iE 'error|fatal|unknown|fail|denied|invalid|⨯' | tail -n 1)
    [ -n "$note" ] || note=$(grep -v '^\s*$' "$W/cmd.err" | tail -n 1)
    note="exit $rc: $(printf '%s' "$note" | tr '\t\r' '  ' | tr -s ' ' | sed 's/^ //' | cut -c1-220)"
    [ "$rc" = 124 ] && note="timed out after ${TIMEOUT}s"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$task" "$image" "$tool" "$run" "$wall" \
    "${user:-0}" "${sys:-0}" "${rss:-0}" 0 "$status" "$note" >>"$TSV"
  printf 'bench: %-12s %-11s %-18s run %-2s %8ss cpu %5s+%-5s rss %7s KB %s\n' "$task" "$image" "$tool" "$run" \
    "$wall" "${user:-?}" "${sys:-?}" "${rss:-?}" "${note:+ERROR $note}" >&2
  return "$rc"
}

# measure_loop TASK IMAGE TOOL RUN K CMD... times K runs of CMD in a row
# (one row, wall for all K): for commands of a few milliseconds, where the
# fork and exec of time and timeout around each would weigh on the ratio.
# Each %k in CMD becomes the iteration number (runc wants a new name).
measure_loop() {
  local task=$1 image=$2 tool=$3 run=$4 k=$5
  shift 5
  measure "$task" "$image" "$tool" "$run" bash -c 'k=$1; shift; for ((j = 0; j < k; j++)); do "${@//%k/$j}" || exit; done >/dev/null' bash "$k" "$@"
}

# tree_check LABEL DIR appends the entry count and byte total of an
# unpacked tree to env.txt, so a tool that is fast because it wrote too
# little shows up.
tree_check() {
  [ -d "$2" ] || return 0
  printf 'tree:       %-40s %7d entries %8.1f MB\n' "$1" "$(find "$2" | wc -l)" \
    "$(du -sb "$2" | awk '{ print $1 / 1e6 }')" >>"$ENVTXT"
}

# na TASK IMAGE TOOL RUN WHY records a run that could not happen.
na() {
  printf '%s\t%s\t%s\t%s\t0\t0\t0\t0\t0\tskipped\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$TSV"
}

# rotate I TOOL... prints the tools starting at position I (mod count),
# so every tool takes every position across runs.
rotate() {
  local i=$1
  shift
  local a=("$@") n=$# k
  for ((k = 0; k < n; k++)); do echo "${a[$(((i + k) % n))]}"; done
}

# peer_missing TOOL prints why TOOL cannot run, or nothing.
peer_missing() {
  case $1 in
  ctr-lite*) [ -x "$CTRLITE" ] || echo "bin/ctr-lite not built" ;;
  skopeo) have skopeo || echo "skopeo not installed" ;;
  skopeo+umoci) have skopeo && have umoci || echo "skopeo or umoci not installed" ;;
  umoci) have umoci || echo "umoci not installed" ;;
  crane*) have crane || echo "crane not installed" ;;
  runc-version) have runc || echo "runc not installed" ;;
  ctr*) have containerd && have ctr || echo "containerd not installed" ;;
  runc) have runc || echo "runc not installed" ;;
  crun) have crun && have unshare || echo "crun not installed" ;;
  refwalk | tar* | unshare* | hello*) ;;
  esac
}

# ---------------------------------------------------------------- registry and corpus

declare -A REF PUSHED
# pushed IMAGE... prints the images that are in the registry (the corpus
# ones need ../shared/corpus), and notes the others once.
pushed() {
  local img
  for img in "$@"; do
    if [ "${PUSHED[$img]:-0}" = 1 ]; then echo "$img"; else log "skipping $img: not in the registry"; fi
  done
}
start_registry() {
  HOST=$("$ROOT/hack/registry.sh" "$W/registry") || { log "fatal: registry did not start"; exit 1; }
  log "registry on $HOST"
}

push_corpus() {
  REF[busybox]=$HOST/library/busybox:1.38.0-musl
  REF[debian]=$HOST/library/debian:bookworm-2layer
  REF[alpine]=$HOST/library/alpine:3.20.3
  REF[large]=$HOST/bench/large:gzip
  REF[large-zstd]=$HOST/bench/large:zstd
  # The shapes of issue 17, generated: one layer of small files, one big
  # file, and busybox (the host's busybox-static) under 0, 99 and 126
  # one-file layers.
  REF[small]=$HOST/bench/small:gzip
  REF[big]=$HOST/bench/big:gzip
  REF[layers1]=$HOST/bench/layers:1
  REF[layers100]=$HOST/bench/layers:100
  REF[layers127]=$HOST/bench/layers:127
  local busybox_ok=0
  if ! [ -d "$CORPUS" ]; then
    log "note: no corpus at $CORPUS: debian and alpine are not pushed; busybox is the generated one-layer image"
  elif have skopeo; then
    skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$CORPUS/busybox-1.38.0-musl-amd64-oci" "docker://${REF[busybox]}" &&
      busybox_ok=1 || log "note: push busybox failed"
    skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$CORPUS/debian-bookworm-2layer-oci" "docker://${REF[debian]}" &&
      PUSHED[debian]=1 || log "note: push debian failed"
  else
    log "note: no skopeo: busybox and debian are not pushed"
  fi
  if [ -f "$CORPUS/alpine-minirootfs-3.20.3-x86_64.tar.gz" ]; then
    mkdir -p "$W/alpine-rootfs"
    tar -xzf "$CORPUS/alpine-minirootfs-3.20.3-x86_64.tar.gz" -C "$W/alpine-rootfs" --numeric-owner &&
      mkimage -dir "$W/alpine-rootfs" -push "${REF[alpine]}" -cmd /bin/sh >/dev/null && PUSHED[alpine]=1 || log "note: push alpine failed"
  fi
  local scale=1
  [ "$QUICK" = 1 ] && scale=0.1
  genimage -seed "$SEED" -scale "$scale" -cache "$RES/cache" -gzip "${REF[large]}" -zstd "${REF[large-zstd]}" >/dev/null &&
    PUSHED[large]=1 PUSHED[large-zstd]=1 || log "note: generating or pushing the large image failed"
  local sh
  for sh in small big; do
    genimage -shape "$sh" -seed "$SEED" -scale "$scale" -cache "$RES/cache" -gzip "${REF[$sh]}" >/dev/null &&
      PUSHED[$sh]=1 || log "note: generating or pushing the $sh image failed"
  done
  for sh in 1 100 127; do
    genimage -shape "layers:$sh" -busybox /bin/busybox -seed "$SEED" -cache "$RES/cache" -gzip "${REF[layers$sh]}" >/dev/null &&
      PUSHED[layers$sh]=1 || log "note: generating or pushing the layers:$sh image failed"
  done
  if [ $busybox_ok = 1 ]; then PUSHED[busybox]=1; else REF[busybox]=${REF[layers1]} PUSHED[busybox]=${PUSHED[layers1]:-0}; fi
}

# describe IMAGE prints "layers, compressed MB" from the registry.
describe() {
  have crane || return 0
  crane manifest --insecure "${REF[$1]}" 2>/dev/null |
    jq -r '"\(.layers | length) layers, \((([.layers[].size] | add) / 1e6 * 10 | floor) / 10) MB compressed, \(.layers[0].mediaType | split(".") | last)"' 2>/dev/null
}

# ---------------------------------------------------------------- containerd

CTRD=$W/containerd
ctrd_start() {
  mkdir -p "$CTRD"
  cat >"$CTRD/config.toml" <<EOF
version = 2
root = "$CTRD/root"
state = "$CTRD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTRD/containerd.sock"
[debug]
  address = ""
EOF
  containerd --config "$CTRD/config.toml" >"$CTRD/log" 2>&1 &
  echo $! >"$CTRD/pid"
  local k
  for k in $(seq 100); do
    ctr --address "$CTRD/containerd.sock" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "note: containerd did not start: $(tail -n 2 "$CTRD/log")"
  return 1
}
ctrd_stop() {
  [ -f "$CTRD/pid" ] || return 0
  local pid
  pid=$(cat "$CTRD/pid")
  kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -f "$CTRD/pid"
}
# ctrd_fresh restarts containerd on an empty root (a cold store).
ctrd_fresh() {
  ctrd_stop
  rm -rf "$CTRD/root" "$CTRD/state"
  ctrd_start
}
ctrd_ensure() { [ -f "$CTRD/pid" ] && kill -0 "$(cat "$CTRD/pid")" 2>/dev/null || ctrd_start; }
ctrd_hwm() { awk '/VmHWM/ { print $2 }' "/proc/$(cat "$CTRD/pid" 2>/dev/null)/status" 2>/dev/null || echo 0; }
ctrd_ticks() { awk '{ print $14, $15 }' "/proc/$(cat "$CTRD/pid" 2>/dev/null)/stat" 2>/dev/null || echo 0 0; }
# add_daemon_stats "UTIME STIME" adds containerd's CPU since that reading
# to the last row of results.tsv, and its peak RSS (since its start).
add_daemon_stats() {
  local hz now
  hz=$(getconf CLK_TCK)
  now=$(ctrd_ticks)
  awk -v FS='\t' -v OFS='\t' -v before="$1" -v now="$now" -v hz="$hz" -v hwm="$(ctrd_hwm)" '
    { line[NR] = $0 }
    END {
      for (i = 1; i < NR; i++) print line[i]
      $0 = line[NR]
      split(before, b, " "); split(now, n, " ")
      $6 = sprintf("%.2f", $6 + (n[1] - b[1]) / hz); $7 = sprintf("%.2f", $7 + (n[2] - b[2]) / hz)
      $9 = hwm; $11 = ($11 == "" ? "CPU includes the containerd daemon; RSS is the ctr client (+ daemon peak)" : $11)
      print
    }' "$TSV" >"$TSV.tmp" && mv "$TSV.tmp" "$TSV"
}

# ---------------------------------------------------------------- tasks

# Each task function takes an image name and runs RUNS rounds; within a
# round every tool runs once, in rotated order.

pull_cmd() { # TOOL IMAGE DIR: a pull into an empty or existing store DIR
  local ref=${REF[$2]}
  case $1 in
  ctr-lite) echo "$CTRLITE --root $3 --plain-http pull -q $ref" ;;
  skopeo) echo "skopeo --insecure-policy copy -q --src-tls-verify=false docker://$ref oci:$3:bench" ;;
  crane) echo "crane pull --insecure --format oci $ref $3" ;;
  ctr) echo "ctr --address $CTRD/containerd.sock -n bench content fetch --plain-http $ref" ;;
  esac
}

task_pull_cold() {
  local img=$1 i tool why d t
  for ((i = 1; i <= RUNS; i++)); do
    for tool in $(rotate "$i" ctr-lite skopeo crane ctr); do
      why=$(peer_missing "$tool")
      [ -n "$why" ] && { na pull-cold "$img" "$tool" "$i" "$why"; continue; }
      d=$W/pull/$img/$tool
      rm -rf "$d"
      if [ "$tool" = ctr ]; then
        ctrd_fresh || { na pull-cold "$img" ctr "$i" "containerd did not start"; continue; }
        t=$(ctrd_ticks)
        # shellcheck disable=SC2046
        measure pull-cold "$img" ctr "$i" $(pull_cmd ctr "$img")
        add_daemon_stats "$t"
      else
        mkdir -p "$(dirname "$d")"
        # shellcheck disable=SC2046
        measure pull-cold "$img" "$tool" "$i" $(pull_cmd "$tool" "$img" "$d")
      fi
    done
  done
}

task_re_pull() {
  local img=$1 i tool why t
  for tool in ctr-lite skopeo crane ctr; do # warm up: one untimed pull each
    [ -n "$(peer_missing "$tool")" ] && continue
    [ "$tool" = ctr ] && { ctrd_ensure || continue; }
    mkdir -p "$W/pull/$img"
    # shellcheck disable=SC2046
    $(pull_cmd "$tool" "$img" "$W/pull/$img/$tool") >/dev/null 2>&1
  done
  for ((i = 1; i <= RUNS; i++)); do
    for tool in $(rotate "$i" ctr-lite skopeo crane ctr crane-digest); do
      why=$(peer_missing "$tool")
      [ -n "$why" ] && { na re-pull "$img" "$tool" "$i" "$why"; continue; }
      # The least a client can do to learn that nothing changed: one
      # manifest HEAD (issue 17's bound for a re-pull).
      [ "$tool" = crane-digest ] && { measure re-pull "$img" "$tool" "$i" crane digest --insecure "${REF[$img]}"; continue; }
      t=$(ctrd_ticks)
      # shellcheck disable=SC2046
      measure re-pull "$img" "$tool" "$i" $(pull_cmd "$tool" "$img" "$W/pull/$img/$tool")
      [ "$tool" = ctr ] && add_daemon_stats "$t"
    done
  done
}

task_pull_unpack() {
  local img=$1 ref=${REF[$1]} i tool why t d=$W/pu
  local tools=(ctr-lite ctr-lite-snapshots skopeo+umoci ctr crane-export+tar)
  case $img in # the shapes of issue 17: the peers it names
  small | big) tools=(ctr-lite crane-export+tar) ;;
  layers*) tools=(ctr-lite ctr-lite-snapshots crane-export+tar) ;;
  esac
  for ((i = 1; i <= RUNS; i++)); do
    for tool in $(rotate "$i" "${tools[@]}"); do
      why=$(peer_missing "$tool")
      [ -n "$why" ] && { na pull-unpack "$img" "$tool" "$i" "$why"; continue; }
      rm -rf "$d" && mkdir -p "$d"
      case $tool in
      ctr-lite) measure pull-unpack "$img" "$tool" "$i" "$CTRLITE" --root "$d/store" --plain-http unpack "$ref" "$d/rootfs" ;;
      # What `run` does: one overlay snapshot per layer, layers in parallel
      # (ctr pull, which unpacks into containerd's snapshotter, is its peer).
      ctr-lite-snapshots) measure pull-unpack "$img" "$tool" "$i" "$CTRLITE" --root "$d/store" --plain-http pull -q --unpack "$ref" ;;
      skopeo+umoci)
        measure pull-unpack "$img" "$tool" "$i" sh -c 'skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$1" "oci:$2/layout:bench" &&
          umoci unpack --image "$2/layout:bench" "$2/bundle"' sh "$ref" "$d" ;;
      ctr)
        ctrd_fresh || { na pull-unpack "$img" ctr "$i" "containerd did not start"; continue; }
        t=$(ctrd_ticks)
        measure pull-unpack "$img" ctr "$i" ctr --address "$CTRD/containerd.sock" -n bench images pull --plain-http "$ref"
        add_daemon_stats "$t" ;;
      crane-export+tar)
        mkdir -p "$d/rootfs"
        measure pull-unpack "$img" "$tool" "$i" bash -o pipefail -c 'crane export --insecure "$1" - | tar -xf - -C "$2"' bash "$ref" "$d/rootfs" ;;
      esac
      if [ "$i" = 1 ]; then
        if [ "$tool" = skopeo+umoci ]; then tree_check "pull-unpack $img $tool" "$d/bundle/rootfs"
        elif [ "$tool" = ctr ] || [ "$tool" = ctr-lite-snapshots ]; then :
        else tree_check "pull-unpack $img $tool" "$d/rootfs"; fi
      fi
    done
  done
  ctrd_stop
  rm -rf "$d" "$CTRD/root"
}

task_unpack_store() {
  local img=$1 ref=${REF[$1]} i tool why d=$W/us/$img
  rm -rf "$d" && mkdir -p "$d/out"
  # Untimed: fill a ctr-lite store and an OCI layout, and write the floor:
  # GNU tar over each layer blob in order (no whiteout handling).
  local ctrlite_ok=1 layout_ok=1
  "$CTRLITE" --root "$d/store0" --plain-http pull -q "$ref" >/dev/null 2>"$d/store0.err" || ctrlite_ok=0
  skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$ref" "oci:$d/layout:bench" >/dev/null 2>&1 || layout_ok=0
  if [ $layout_ok = 1 ]; then
    local man
    man=$d/layout/blobs/sha256/$(jq -r '.manifests[0].digest | sub("sha256:"; "")' "$d/layout/index.json")
    {
      echo 'set -eo pipefail'
      jq -r '.layers[] | "\(.mediaType) \(.digest | sub("sha256:"; ""))"' "$man" | while read -r mt hex; do
        case $mt in
        *gzip) echo "gzip -dc $d/layout/blobs/sha256/$hex | tar -xf - -C \"\$1\"" ;;
        *zstd) echo "zstd -dcq $d/layout/blobs/sha256/$hex | tar -xf - -C \"\$1\"" ;;
        *) echo "tar -xf $d/layout/blobs/sha256/$hex -C \"\$1\"" ;;
        esac
      done
    } >"$d/floor.sh"
  fi
  local tools=(ctr-lite umoci tar)
  [ "$img" = small ] && tools=(ctr-lite tar) # umoci takes minutes on 300k files
  for ((i = 1; i <= RUNS; i++)); do
    for tool in $(rotate "$i" "${tools[@]}"); do
      why=$(peer_missing "$tool")
      [ "$tool" = ctr-lite ] && [ $ctrlite_ok = 0 ] && why="pull failed: $(tail -n 1 "$d/store0.err" | cut -c1-200)"
      [ "$tool" != ctr-lite ] && [ $layout_ok = 0 ] && why="skopeo copy failed"
      [ -n "$why" ] && { na unpack-store "$img" "$tool" "$i" "$why"; continue; }
      rm -rf "$d/out" "$d/store" && mkdir -p "$d/out"
      case $tool in
      ctr-lite)
        cp -al "$d/store0" "$d/store" # same blobs, no snapshots yet
        measure unpack-store "$img" "$tool" "$i" "$CTRLITE" --root "$d/store" --plain-http unpack "$ref" "$d/out/rootfs" ;;
      umoci) measure unpack-store "$img" "$tool" "$i" umoci unpack --image "$d/layout:bench" "$d/out/bundle" ;;
      tar) measure unpack-store "$img" "tar (floor)" "$i" bash "$d/floor.sh" "$d/out" ;;
      esac
      if [ "$i" = 1 ]; then
        case $tool in
        ctr-lite) tree_check "unpack-store $img ctr-lite" "$d/out/rootfs" ;;
        umoci) tree_check "unpack-store $img umoci" "$d/out/bundle/rootfs" ;;
        tar) tree_check "unpack-store $img tar (keeps .wh. files)" "$d/out" ;;
        esac
      fi
    done
  done
  rm -rf "$d/out" "$d/store"
}

# RUN_LOOP is how many runs of a container one timed sample holds: a run
# takes milliseconds, and the fork and exec of time and timeout around each
# sample would otherwise weigh on the ratio to the floor.
RUN_LOOP=10

task_run() {
  local img=$1 ref=${REF[$1]} i tool why d=$W/run n=$((RUNS * 2 > 10 ? RUNS * 2 : 10))
  rm -rf "$d" && mkdir -p "$d"
  # The bundle for runc and crun: ctr-lite's own when `ctr-lite bundle`
  # works, else umoci's unpack of the same image copied from the registry.
  local bundle_from=ctr-lite
  if ! { "$CTRLITE" --root "$d/store" --plain-http pull -q "$ref" >/dev/null 2>&1 &&
    "$CTRLITE" --root "$d/store" --plain-http bundle "$ref" "$d/bundle" >/dev/null 2>"$d/bundle.err"; }; then
    bundle_from="umoci unpack (ctr-lite bundle failed: $(tail -n 1 "$d/bundle.err" 2>/dev/null | cut -c1-120))"
    rm -rf "$d/bundle"
    { skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$ref" "oci:$d/layout:bench" &&
      umoci unpack --image "$d/layout:bench" "$d/bundle"; } >/dev/null 2>"$d/umoci.err" ||
      log "note: no bundle for runc/crun: $(tail -n 1 "$d/umoci.err")"
  fi
  if [ -f "$d/bundle/config.json" ]; then
    jq '.process.args = ["true"] | .process.terminal = false' "$d/bundle/config.json" >"$d/config.json" &&
      mv "$d/config.json" "$d/bundle/config.json"
  fi
  log "run: bundle from $bundle_from"
  echo "run bundle for runc/crun: $bundle_from" >>"$ENVTXT"
  # crun 1.8 refuses the hybrid cgroup layout: run it in a private mount
  # namespace without the cgroup2 mount at /sys/fs/cgroup/unified.
  local crun_sh='umount /sys/fs/cgroup/unified 2>/dev/null; exec crun run -b "$0" "$1"'
  # Warm up each tool once, untimed. ctr-lite runs with --network none:
  # like runc and crun on the bundle and like the floor, a network
  # namespace with only lo. Its default as root, bridge (CNI ADD and DEL:
  # the bridge, host-local, portmap and firewall plugins and some 25
  # iptables commands), is its own row, ctr-lite --network bridge.
  "$CTRLITE" --root "$d/store" run --rm --network none "$ref" true >/dev/null 2>&1
  "$CTRLITE" --root "$d/store" run --rm "$ref" true >/dev/null 2>&1
  runc run -b "$d/bundle" warm-runc >/dev/null 2>&1
  unshare -m sh -c "$crun_sh" "$d/bundle" warm-crun >/dev/null 2>&1
  for ((i = 1; i <= n; i++)); do
    for tool in $(rotate "$i" ctr-lite runc crun unshare+chroot ctr-lite-bridge); do
      why=$(peer_missing "$tool")
      [ "${tool#ctr-lite}" = "$tool" ] && [ ! -f "$d/bundle/config.json" ] && why="no bundle"
      [ -n "$why" ] && { na run "$img" "${tool/#ctr-lite-bridge/ctr-lite --network bridge}" "$i" "$why"; continue; }
      case $tool in
      ctr-lite) measure_loop run "$img" "$tool" "$i" $RUN_LOOP "$CTRLITE" --root "$d/store" run --rm --network none "$ref" true ;;
      ctr-lite-bridge) measure_loop run "$img" "ctr-lite --network bridge" "$i" $RUN_LOOP "$CTRLITE" --root "$d/store" run --rm "$ref" true ;;
      runc) measure_loop run "$img" "$tool" "$i" $RUN_LOOP runc run -b "$d/bundle" "bench-runc-$i-%k" ;;
      crun) measure_loop run "$img" "$tool" "$i" $RUN_LOOP unshare -m sh -c "$crun_sh" "$d/bundle" "bench-crun-$i-%k" ;;
      # The floor of issue 17: the namespaces a container gets (a new
      # network namespace included) and a chroot, nothing else.
      unshare+chroot) measure_loop run "$img" "unshare+chroot (floor)" "$i" $RUN_LOOP unshare -m -u -i -p -n -f chroot "$d/bundle/rootfs" /bin/true ;;
      esac
    done
  done
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$d"
}

# task_run_layers: warm `run --rm IMAGE true` of busybox under 126 one-file
# layers against busybox alone (issue 17: within 2x).
task_run_layers() {
  local i img n=$((RUNS * 2 > 10 ? RUNS * 2 : 10)) d=$W/run-layers
  rm -rf "$d" && mkdir -p "$d"
  for img in layers1 layers127; do # pull and unpack, untimed
    "$CTRLITE" --root "$d/store" --plain-http pull -q "${REF[$img]}" >/dev/null 2>&1 &&
      "$CTRLITE" --root "$d/store" run --rm "${REF[$img]}" true >/dev/null 2>&1 ||
      log "note: run-layers: $img does not run"
  done
  for ((i = 1; i <= n; i++)); do
    for img in $(rotate "$i" layers1 layers127); do
      measure_loop run-layers "$img" ctr-lite "$i" $RUN_LOOP "$CTRLITE" --root "$d/store" run --rm --network none "${REF[$img]}" true
    done
  done
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$d"
}

# task_startup: `ctr-lite --version` against a static Go hello world (the
# floor), crane and runc printing their versions; STARTUP_LOOP in a row
# per sample.
STARTUP_LOOP=50
task_startup() {
  local i tool why n=$((RUNS * 2 > 10 ? RUNS * 2 : 10)) b
  # Both binaries were just built: a freshly written file costs 0.5-0.8 ms
  # more per exec (the kernel's fault-around on pages not yet read back).
  # Drop them from the page cache and read them again, so that both start
  # from the state an installed binary is in.
  for b in "$CTRLITE" "$RES/bin/hello"; do
    dd if="$b" iflag=nocache count=0 status=none 2>/dev/null || true
    cat "$b" >/dev/null
  done
  for ((i = 1; i <= n; i++)); do
    for tool in $(rotate "$i" ctr-lite hello crane runc-version); do
      why=$(peer_missing "$tool")
      [ -n "$why" ] && { na startup version "$tool" "$i" "$why"; continue; }
      case $tool in
      ctr-lite) measure_loop startup version ctr-lite "$i" $STARTUP_LOOP "$CTRLITE" --version ;;
      hello) measure_loop startup version "hello (floor)" "$i" $STARTUP_LOOP "$RES/bin/hello" ;;
      crane) measure_loop startup version crane "$i" $STARTUP_LOOP crane version ;;
      runc-version) measure_loop startup version runc "$i" $STARTUP_LOOP runc --version ;;
      esac
    done
  done
}

task_efficiency() {
  local img=$1 ref=${REF[$1]} i tool why
  for ((i = 1; i <= RUNS; i++)); do
    for tool in $(rotate "$i" ctr-lite refwalk); do
      why=$(peer_missing "$tool")
      [ -n "$why" ] && { na efficiency "$img" "$tool" "$i" "$why"; continue; }
      rm -rf "$W/eff" # an empty store: both read the registry
      case $tool in
      ctr-lite) measure efficiency "$img" "$tool" "$i" "$CTRLITE" --root "$W/eff" --plain-http inspect efficiency "$ref" ;;
      refwalk) measure efficiency "$img" "$tool" "$i" refwalk "$ref" ;;
      esac
      [ "$i" = 1 ] && cp "$W/cmd.out" "$RES/efficiency-$img-$tool.txt"
    done
  done
}

# copy_cmd TOOL IMAGE DEST: registry to registry, every platform, nothing
# stored locally.
copy_cmd() {
  local ref=${REF[$2]}
  case $1 in
  ctr-lite) echo "$CTRLITE --root $W/copy-root --plain-http copy -q $ref $3" ;;
  skopeo) echo "skopeo --insecure-policy copy -q --all --src-tls-verify=false --dest-tls-verify=false docker://$ref docker://$3" ;;
  crane) echo "crane copy --insecure $ref $3" ;;
  esac
}

# task_copy IMAGE copies into a new, empty registry each run: skopeo
# remembers where it saw blobs and would mount them from an earlier run's
# repository on the same registry.
task_copy() {
  local img=$1 i tool why d host
  for ((i = 1; i <= RUNS; i++)); do
    for tool in $(rotate "$i" ctr-lite skopeo crane); do
      why=$(peer_missing "$tool")
      [ -n "$why" ] && { na copy "$img" "$tool" "$i" "$why"; continue; }
      d=$W/copy-dest/$img-$tool-$i
      host=$("$ROOT/hack/registry.sh" "$d") || { na copy "$img" "$tool" "$i" "destination registry did not start"; continue; }
      # shellcheck disable=SC2046
      measure copy "$img" "$tool" "$i" $(copy_cmd "$tool" "$img" "$host/copy/$img:1")
      kill "$(cat "$d/registry.pid")" 2>/dev/null
      rm -rf "$d"
    done
  done
}

# ---------------------------------------------------------------- main

cleanup() {
  ctrd_stop
  [ -f "$W/registry/registry.pid" ] && kill "$(cat "$W/registry/registry.pid")" 2>/dev/null
  for p in "$W"/copy-dest/*/registry.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "scratch kept in $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

install_peers
build_helpers
start_registry
push_corpus

{
  echo "date:       $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine:    $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r)"
  echo "scratch:    $W ($(df -T "$W" | awk 'NR == 2 { print $2 }'))"
  echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) at start"
  echo "settings:   runs=$RUNS quick=$QUICK seed=$SEED"
  echo "ctr-lite:   $("$CTRLITE" --version 2>/dev/null || echo missing)"
  echo "peers:      skopeo $(skopeo --version 2>/dev/null | awk '{ print $3 }'), umoci $(umoci --version 2>/dev/null | awk '{ print $3 }'), crane $(crane version 2>/dev/null), containerd $(containerd --version 2>/dev/null | awk '{ print $3 }'), runc $(runc --version 2>/dev/null | awk 'NR == 1 { print $3 }'), crun $(crun --version 2>/dev/null | awk 'NR == 1 { print $3 }'), $(tar --version | head -n 1)"
  for img in busybox alpine debian large large-zstd small big layers1 layers100 layers127; do
    printf 'image:      %-10s %s  %s\n' "$img" "${REF[$img]}" "$(describe "$img")"
  done
} >"$ENVTXT"
cat "$ENVTXT" >&2
printf '# task\timage\ttool\trun\twall_s\tuser_s\tsys_s\tmaxrss_kb\tdaemon_rss_kb\tstatus\tnote\n' >"$TSV"

for task in $TASKS; do
  case $task in
  pull-cold) for img in $(pushed alpine debian large large-zstd); do task_pull_cold "$img"; done ;;
  re-pull) for img in $(pushed debian large layers127); do task_re_pull "$img"; done ;;
  pull-unpack) for img in $(pushed debian large large-zstd small big layers100 layers127); do task_pull_unpack "$img"; done ;;
  unpack-store) for img in $(pushed debian large large-zstd small); do task_unpack_store "$img"; done ;;
  run) for img in $(pushed busybox); do task_run "$img"; done ;;
  run-layers) [ -n "$(pushed layers1 layers127)" ] && task_run_layers ;;
  startup) task_startup ;;
  efficiency) for img in $(pushed debian large); do task_efficiency "$img"; done ;;
  copy) for img in $(pushed debian large); do task_copy "$img"; done ;;
  *) log "unknown task $task (known: pull-cold re-pull pull-unpack unpack-store run run-layers startup efficiency copy)" ;;
  esac
done
ctrd_stop
echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) at end" >>"$ENVTXT"

report -in "$TSV" -out "$RES" -env "$ENVTXT"
# Keep the last quick and the last full run side by side.
kind=full
[ "$QUICK" = 1 ] && kind=quick
mkdir -p "$RES/$kind" && cp "$RES"/results.{md,json,svg,tsv} "$ENVTXT" "$RES/$kind/" && cp "$RES"/efficiency-*.txt "$RES/$kind/" 2>/dev/null
log "wrote $RES/results.md, results.json, results.svg (raw: results.tsv; copies in $RES/$kind/)"
