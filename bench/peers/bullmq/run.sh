#!/usr/bin/env bash
# The BullMQ + Redis peer of bench/load.sh: starts its own redis-server (AOF,
# fsync every second, no RDB snapshots) and a `crier sink` on loopback, runs
# bench.mjs (ingest, dispatch to the sink, status latency meanwhile), prints
# one JSON line per scenario, and stops everything it started.
#   bench/peers/bullmq/run.sh [CRIER_BINARY]     (default: build/crier of this checkout)
# Sizes and knobs from the environment: N (1000000), BATCH (10000), DISPATCH_N
# (N), RATE (0 = unlimited), CONCURRENCY (64), HTTP_CLIENT (http|fetch),
# REMOVE_ON_COMPLETE (0), STATUS_INTERVAL_MS (0), REDIS_PORT and SINK_PORT (free ones by default),
# RESULTS (a .jsonl file to append the lines to as well).
# Needs Node.js >= 20 with npm; installs the npm packages (npm ci, from the
# lockfile) and Debian's redis-server when they are missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
crier=${1:-$here/../../../build/crier}
log() { echo "bullmq peer: $*" >&2; }

[[ -x $crier ]] || { log "no crier binary at $crier (run 'make build', or pass its path)"; exit 2; }
command -v node > /dev/null || { log "Node.js >= 20 is needed"; exit 2; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
(( node_major >= 20 )) || { log "Node.js >= 20 is needed, this is $(node --version)"; exit 2; }

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
if ! command -v redis-server > /dev/null || ! command -v redis-cli > /dev/null; then
  log "installing redis-server"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server > /dev/null
fi
# npm ci when node_modules is missing or older than the lockfile.
if [[ ! -f $here/node_modules/.package-lock.json || $here/package-lock.json -nt $here/node_modules/.package-lock.json ]]; then
  log "npm ci"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error > /dev/null)
fi

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
redis_port=${REDIS_PORT:-$(free_port)}
sink_port=${SINK_PORT:-$(free_port)}
while [[ $sink_port == "$redis_port" ]]; do sink_port=$(free_port); done

work=$(mktemp -d /tmp/crier-bullmq-peer.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {  # description, command...
  local what=$1; shift
  for _ in $(seq 200); do "$@" > /dev/null 2>&1 && return 0; sleep 0.05; done
  log "timed out waiting for $what"; return 1
}

mkdir -p "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" \
  --appendonly yes --appendfsync everysec --save '' \
  --daemonize no --logfile "$work/redis.log" &
pids+=($!)
wait_for "redis-server on port $redis_port" redis-cli -h 127.0.0.1 -p "$redis_port" ping \
  || { cat "$work/redis.log" >&2; exit 1; }

# Signed like Crier's own webhooks, and verified by the sink, so both pay for it.
secret="whsec_$(node -p 'require("crypto").randomBytes(24).toString("base64")')"
"$crier" sink --listen "127.0.0.1:$sink_port" --secret "$secret" --threads 1 --keep-requests 0 > "$work/sink.log" 2>&1 &
pids+=($!)
wait_for "crier sink on port $sink_port" grep -q "crier sink listening" "$work/sink.log" \
  || { cat "$work/sink.log" >&2; exit 1; }

redis_version=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
bullmq_version=$(node -p "require('$here/node_modules/bullmq/package.json').version")
log "bullmq $bullmq_version, redis-server $redis_version on 127.0.0.1:$redis_port (AOF everysec), crier sink on 127.0.0.1:$sink_port"

status=0
REDIS_URL="redis://127.0.0.1:$redis_port" SINK_URL="http://127.0.0.1:$sink_port/hook" SINK_SECRET="$secret" \
  node "$here/bench.mjs" > "$work/out.jsonl" || status=$?
cat "$work/out.jsonl"
if [[ -n ${RESULTS:-} ]]; then
  # Each line also names the versions, so the file stands on its own.
  sed "s/}\$/,\"bullmq\":\"$bullmq_version\",\"redis\":\"$redis_version\"}/" "$work/out.jsonl" >> "$RESULTS"
fi
exit $status
