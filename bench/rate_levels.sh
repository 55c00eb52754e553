#!/usr/bin/env bash
# The tightest of three rate limits, measured: how close to the binding limit
# a job runs when the tenant's limit binds, when the job's own does, and
# after SIGHUP lowered the tenant's. The tests only assert what holds on any
# machine (a job never finishes sooner than its token buckets allow:
# tests/e2e/dispatch_test.cpp, DispatchRateTest); the achieved rates are
# measured here. One JSON line per phase (also appended to
# bench/results/<date>.jsonl).
#   bench/rate_levels.sh [BUILD_DIR]      PHASE_SECONDS=10 to change each phase's length
# Needs: curl, python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-bench}
crier=$build/crier
SECONDS_PER_PHASE=${PHASE_SECONDS:-10}
port=${PORT:-18490}
sink_port=$((port + 1))
work=$(mktemp -d /tmp/crier-rate.XXXXXX)
results_dir=$here/results
mkdir -p "$results_dir"
results=$results_dir/$(date -u +%Y-%m-%d).jsonl
key=bench-key-000001
tenant=bench
api=http://127.0.0.1:$port
auth=(-H "Authorization: Bearer $key")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
source "$here/lib.sh"

# Provider 400/s and the tenant's limit, both with a burst of 5, as in the
# test; the jobs ask for 300/s (burst 30).
write_config() {  # tenant rate
  cat > "$work/crier.toml" <<EOF
[providers.hook]
type = "webhook"
url = "http://127.0.0.1:$sink_port/hook"
tenants = ["*"]
rate_limit = 400
burst = 5

[tenants.$tenant]
rate_limit = $1
burst = 5
EOF
}

"$crier" sink --listen 127.0.0.1:$sink_port --keep-requests 0 > "$work/sink.log" 2>&1 &
pids+=($!)
wait_line "$work/sink.log" "crier sink listening"
write_config 200
"$crier" serve --listen 127.0.0.1:$port --data-dir "$work/data" --api-key "$key=$tenant" \
  --config "$work/crier.toml" --log-level info --egress-allow 127.0.0.0/8 > "$work/serve.log" 2>&1 &
server=$!; pids+=($server)
wait_line "$work/serve.log" "crier listening"

reloads=0
reload() {  # tenant rate: rewrite the config, SIGHUP, wait for the reload line
  write_config "$1"
  reloads=$((reloads + 1))
  kill -HUP "$server"
  for _ in $(seq 200); do
    (($(grep -c "rate limits reloaded" "$work/serve.log") >= reloads)) && return 0
    sleep 0.05
  done
  echo "no reload after SIGHUP" >&2; cat "$work/serve.log" >&2; return 1
}

phase() {  # binding-level binding-rate
  local level=$1 limit=$2 n=$(($2 * SECONDS_PER_PHASE))
  local job v s window
  job=$(create "{\"channel\":\"webhook\",\"provider\":\"hook\",\"webhook_url\":\"http://127.0.0.1:$sink_port/hook\",\"rate_limit\":300,\"content\":{\"webhook\":{\"body\":{\"name\":\"{{name}}\"}}}}")
  gen_ndjson 0 "$n" | curl -sf "${auth[@]}" -H 'Content-Type: application/x-ndjson' -T - -X POST "$api/v1/jobs/$job/users" > /dev/null
  curl -sf -X POST "http://127.0.0.1:$sink_port/_sink/reset" > /dev/null
  curl -sf "${auth[@]}" -X POST "$api/v1/jobs/$job/run" > /dev/null
  v=$(wait_done "$job")
  s=$(echo "$v" | run_seconds)
  window=$(curl -sf "http://127.0.0.1:$sink_port/_sink/stats" | jget '["max_1s_window"]')
  emit "$(python3 -c "print('{\"scenario\":\"rate_levels\",\"binding\":\"$level\",\"limit\":$limit,\"recipients\":$n,\"seconds\":%.3f,\"achieved_per_s\":%.1f,\"error_pct\":%.2f,\"max_1s_window\":$window}' % ($s, $n/$s, ($n/$s-$limit)*100/$limit))")"
}

phase tenant 200   # job 300, tenant 200, provider 400
reload 1000
phase job 300      # the tenant raised: the job's own limit binds
reload 100
phase tenant 100   # lowered by SIGHUP: binds at once
