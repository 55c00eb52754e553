#!/usr/bin/env bash
# The vendors' façades against the native API, on one real `crier serve`
# (null provider, loopback), one JSON line per scenario in
# bench/results/<date>.jsonl (issue 13's speed targets):
#   courier_vs_native_batches   Courier addUsers batches of $BATCH against the
#                               native JSON batches of the same users, in
#                               alternating rounds (the same machine state for
#                               both); the ratio of their rates
#   prelude_batch_latency       a Prelude batch of $PRELUDE_N numbers, one after
#                               another for $SECONDS_P s on one connection (wrk),
#                               while a job of $DISPATCH_N recipients dispatches
#                               to null: p50, p99, p99.9 of the answer
#   bench/compat.sh [BUILD_DIR]   N=200000 BATCH=10000 DISPATCH_N=1000000
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-bench}
crier=$build/crier
N=${N:-200000}                 # users per API in the batch comparison
BATCH=${BATCH:-10000}
ROUNDS=${ROUNDS:-4}
PRELUDE_N=${PRELUDE_N:-1000}
DISPATCH_N=${DISPATCH_N:-1000000}
SECONDS_P=${SECONDS_P:-15}
port=${PORT:-18490}
work=$(mktemp -d /tmp/crier-bench-compat.XXXXXX)
results_dir=$here/results
mkdir -p "$results_dir"
results=$results_dir/$(date -u +%Y-%m-%d).jsonl
touch "$results"
key=bench-key-000001
api=http://127.0.0.1:$port
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
source "$here/lib.sh"

cat > "$work/crier.toml" <<EOF
[dispatch]
default_provider = "null"
[dispatch.channels]
sms = "null"
EOF
"$crier" serve --listen 127.0.0.1:$port --data-dir "$work/data" --api-key "$key=bench" --config "$work/crier.toml" \
  > "$work/serve.log" 2>&1 &
server=$!; pids+=($server)
wait_line "$work/serve.log" "crier listening"
auth=(-H "Authorization: Bearer $key")

# The same users in both dialects: native {"users":[{user_id,email,data}]},
# Courier {"users":[{"to":{"user_id","data"},"profile":{"email"}}]}.
native_batch() {
  gen_ndjson "$1" "$2" | awk 'BEGIN{printf "{\"users\":["} NR>1{printf ","} {printf "%s",$0} END{printf "]}"}'
}
courier_batch() {
  awk -v f="$1" -v n="$2" 'BEGIN{printf "{\"users\":["; for(i=f;i<f+n;i++){ if(i>f) printf ",";
    printf "{\"to\":{\"user_id\":\"user-%07d\",\"data\":{\"name\":\"User %d\",\"amount\":\"%d.50\"}},\"profile\":{\"email\":\"user%d@example.com\"}}",i,i,i%1000,i}
    printf "]}"}'
}
per_round=$((N / ROUNDS))
for ((b = 0; b < N; b += BATCH)); do
  native_batch $b $BATCH > "$work/native-$((b / BATCH)).json"
  courier_batch $b $BATCH > "$work/courier-$((b / BATCH)).json"
done
courier_job=$(curl -sf "${auth[@]}" -H 'Content-Type: application/json' \
  -d '{"message":{"event":"invoice","content":{"title":"Your invoice, {{name}}","body":"Dear {{name}}, you owe {{amount}}."},"routing":{"channels":["email"]}}}' \
  "$api/bulk" | jget '["jobId"]')
native_job=$(create "$email_spec")
post_batches() {  # kind job first_batch count -> seconds
  local kind=$1 job=$2 first=$3 count=$4 path args=()
  [ "$kind" = courier ] && path="/bulk/$job" || path="/v1/jobs/$job/users"
  for ((i = first; i < first + count; i++)); do
    ((i > first)) && args+=(--next)
    args+=(-sf "${auth[@]}" -H 'Content-Type: application/json' --data-binary @"$work/$kind-$i.json" -o /dev/null "$api$path")
  done
  local t0 t1
  t0=$(now); curl --fail-early "${args[@]}"; t1=$(now)
  python3 -c "print($t1-$t0)"
}
native_s=0; courier_s=0
batches_per_round=$((per_round / BATCH))
for ((r = 0; r < ROUNDS; r++)); do
  first=$((r * batches_per_round))
  if ((r % 2 == 0)); then
    native_s=$(python3 -c "print($native_s+$(post_batches native "$native_job" $first $batches_per_round))")
    courier_s=$(python3 -c "print($courier_s+$(post_batches courier "$courier_job" $first $batches_per_round))")
  else
    courier_s=$(python3 -c "print($courier_s+$(post_batches courier "$courier_job" $first $batches_per_round))")
    native_s=$(python3 -c "print($native_s+$(post_batches native "$native_job" $first $batches_per_round))")
  fi
done
for j in "$native_job" "$courier_job"; do
  got=$(curl -sf "${auth[@]}" "$api/v1/jobs/$j" | jget '["unique"]')
  [ "$got" = "$N" ] || { echo "job $j has $got of $N users" >&2; exit 1; }
done
emit "$(python3 -c "
n=$N; a=$native_s; c=$courier_s
print('{\"scenario\":\"courier_vs_native_batches\",\"users\":%d,\"batch\":$BATCH,\"native_per_s\":%.0f,\"courier_per_s\":%.0f,\"courier_over_native\":%.3f}' % (n, n/a, n/c, a/c))")"
rm -f "$work"/native-*.json "$work"/courier-*.json

# Prelude: a batch of $PRELUDE_N numbers while a job of $DISPATCH_N dispatches.
curl -sf "${auth[@]}" -X PUT -H 'Content-Type: application/json' \
  -d '{"content":{"sms":{"body":"Order {{order_id}} is ready: {{amount}}"}}}' "$api/v1/templates/order_ready" > /dev/null
python3 - "$PRELUDE_N" > "$work/prelude.json" <<'EOF'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"template_id": "order_ready", "variables": {"order_id": "12345", "amount": "$49.99"},
                  "to": ["+1555%07d" % i for i in range(n)]}))
EOF
big=$(create "$email_spec")
gen_ndjson 0 "$DISPATCH_N" > "$work/users.ndjson"
curl -sf "${auth[@]}" -H 'Content-Type: application/x-ndjson' -T "$work/users.ndjson" -X POST "$api/v1/jobs/$big/users" > /dev/null
rm -f "$work/users.ndjson"
cat > "$work/prelude.lua" <<EOF
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $key"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/prelude.json"); wrk.body = f:read("*a"); f:close()
EOF
cat "$here/latency.lua" >> "$work/prelude.lua"
curl -sf "${auth[@]}" -X POST "$api/v1/jobs/$big/run" > /dev/null
wrk -t1 -c1 -d"${SECONDS_P}s" -s "$work/prelude.lua" "$api/v2/notify/batch" > "$work/wrk.txt"
dispatching=$(curl -sf "${auth[@]}" "$api/v1/jobs/$big" | jget '["status"]')
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $4}' "$work/wrk.txt"); non2xx=${non2xx:-0}
p50=$(awk '$1=="p50" {print $2}' "$work/wrk.txt"); p99=$(awk '$1=="p99" {print $2}' "$work/wrk.txt")
p999=$(awk '$1=="p99.9" {print $2}' "$work/wrk.txt")
v=$(wait_done "$big")
emit "{\"scenario\":\"prelude_batch_latency\",\"numbers\":$PRELUDE_N,\"batches\":$requests,\"non_2xx\":$non2xx,\"p50_ms\":$(python3 -c "print($p50/1000)"),\"p99_ms\":$(python3 -c "print($p99/1000)"),\"p999_ms\":$(python3 -c "print($p999/1000)"),\"dispatch_job\":$DISPATCH_N,\"dispatch_status_at_end\":\"$dispatching\",\"dispatch_rate_per_s\":$(echo "$v" | jget '["rate_per_second"]')}"
