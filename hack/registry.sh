#!/usr/bin/env bash
# Start Debian's docker-registry (the CNCF distribution registry) on
# 127.0.0.1 with storage under $1, in the background. Prints the host:port.
# The caller stops it: kill "$(cat $1/registry.pid)".
set -euo pipefail
dir=${1:?usage: registry.sh DIR}
mkdir -p "$dir/storage"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || shuf -i 20000-60000 -n 1)
cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
/usr/bin/docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
echo $! >"$dir/registry.pid"
for _ in $(seq 100); do
  if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then echo "127.0.0.1:$port"; exit 0; fi
  sleep 0.1
done
echo "registry did not start; log:" >&2; cat "$dir/registry.log" >&2; exit 1
