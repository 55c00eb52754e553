#!/usr/bin/env bash
# Server-level scenarios against the real `crier serve` and `crier sink` on
# loopback. Prints one JSON line per scenario (also appended to
# bench/results/<date>.jsonl) and a table at the end.
#   bench/load.sh [BUILD_DIR]      N=1000000 SINK_N=200000 to change sizes
# Needs: curl, python3, wrk (Debian packages; `make bench` installs them).
# PEER=0 skips the BullMQ + Redis peer (bench/peers/bullmq), which runs last
# with PEER_N recipients ingested and PEER_DISPATCH_N dispatched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-bench}
crier=$build/crier
N=${N:-1000000}            # recipients for ingest and dispatch-to-null
SINK_N=${SINK_N:-200000}   # recipients for dispatch to the webhook sink
BATCH=${BATCH:-10000}
port=${PORT:-18480}
sink_port=$((port + 1))
work=$(mktemp -d /tmp/crier-bench.XXXXXX)
results_dir=$here/results
mkdir -p "$results_dir"
results=$results_dir/$(date -u +%Y-%m-%d).jsonl
touch "$results"
first_line=$(($(wc -l < "$results") + 1))  # this run's lines start here
key=bench-key-000001
api=http://127.0.0.1:$port
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
source "$here/lib.sh"

# The sink is on loopback, which the egress guard refuses unless allowed.
"$crier" serve --listen 127.0.0.1:$port --data-dir "$work/data" --api-key "$key=bench" \
  --egress-allow 127.0.0.0/8 > "$work/serve.log" 2>&1 &
server=$!; pids+=($server)
wait_line "$work/serve.log" "crier listening"
# The tenant's own signing secret, as its receivers get it.
secret=$(curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/webhook-secret" | jget '["secret"]')
"$crier" sink --listen 127.0.0.1:$sink_port --secret "$secret" --threads 1 --keep-requests 0 > "$work/sink.log" 2>&1 &
sink=$!; pids+=($sink)
wait_line "$work/sink.log" "crier sink listening"

auth=(-H "Authorization: Bearer $key")

gen_json_batch() {
  gen_ndjson "$1" "$2" | awk 'BEGIN{printf "{\"users\":["} NR>1{printf ","} {printf "%s",$0} END{printf "]}"}'
}

# 3b. The ceiling, measured first, while nothing else runs: wrk alone against
# the sink, with requests signed as Crier signs them, of the same size and
# headers, and an id of their own each, so the sink does the same work per
# request (read, verify the signature, record the id) as for Crier. Three
# runs of 5 s, the sink reset after each: one run's figure swung from 21 k
# to 41 k req/s between otherwise identical runs, so the median is the
# ceiling, and all three are recorded.
python3 "$here/wrk_signed.py" "$secret" 400000 "$work/signed.txt"
ceilings=()
bad=0
for i in 1 2 3; do
  wrk -t1 -c32 -d5s -s "$here/wrk_signed.lua" "http://127.0.0.1:$sink_port/hook" -- "$work/signed.txt" > "$work/wrk-sink.txt" 2>&1 || true
  ceilings+=("$(awk '/Requests\/sec/ {print $2}' "$work/wrk-sink.txt")")
  bad=$((bad + $(curl -sf "http://127.0.0.1:$sink_port/_sink/stats" | jget '["bad_signatures"]')))
  curl -sf -X POST "http://127.0.0.1:$sink_port/_sink/reset" > /dev/null
done
median=$(printf '%s\n' "${ceilings[@]}" | sort -g | sed -n 2p)
emit "{\"scenario\":\"wrk_vs_sink\",\"requests_per_s\":$median,\"runs_requests_per_s\":[$(IFS=,; echo "${ceilings[*]}")],\"bad_signatures\":$bad}"

# 1a. Ingest as JSON batches of $BATCH, one request after another on one
# kept-alive connection (one curl, `--next` between requests), as a script
# would send them and as the peer's producer does: each batch is acknowledged
# (synced) before the next leaves. --fail-early stops at a refused batch, and
# the job's `received` counter is checked afterwards.
for ((b = 0; b < N; b += BATCH)); do gen_json_batch $b $BATCH > "$work/batch-$((b / BATCH)).json"; done
bytes=$(cat "$work"/batch-*.json | wc -c)
job=$(create "$email_spec")
batches=()
for ((b = 0; b < N / BATCH; b++)); do
  ((b > 0)) && batches+=(--next)
  batches+=(-sf "${auth[@]}" -H 'Content-Type: application/json' --data-binary @"$work/batch-$b.json" -o /dev/null "$api/v1/jobs/$job/users")
done
t0=$(now)
curl --fail-early "${batches[@]}"
t1=$(now)
received=$(curl -sf "${auth[@]}" "$api/v1/jobs/$job" | jget '["received"]')
[ "$received" = "$N" ] || { echo "JSON ingest: the job received $received of $N" >&2; exit 1; }
rm -f "$work"/batch-*.json
emit "$(python3 -c "print('{\"scenario\":\"ingest_json_batches\",\"recipients\":$N,\"batch\":$BATCH,\"seconds\":%.3f,\"recipients_per_s\":%.0f,\"mb_per_s\":%.1f,\"server_rss_mb\":$(rss_mb $server)}' % ($t1-$t0, $N/($t1-$t0), $bytes/1e6/($t1-$t0)))")"

# 1b. Ingest as one NDJSON stream (into the job that 2 dispatches).
gen_ndjson 0 "$N" > "$work/users.ndjson"
bytes=$(wc -c < "$work/users.ndjson")
job_null=$(create "$email_spec")
t0=$(now)
curl -sf "${auth[@]}" -H 'Content-Type: application/x-ndjson' -T "$work/users.ndjson" -X POST "$api/v1/jobs/$job_null/users" > "$work/ingest.json"
t1=$(now)
accepted=$(jget '["accepted"]' < "$work/ingest.json")
emit "$(python3 -c "print('{\"scenario\":\"ingest_ndjson_stream\",\"recipients\":$accepted,\"seconds\":%.3f,\"recipients_per_s\":%.0f,\"mb_per_s\":%.1f,\"server_rss_mb\":$(rss_mb $server)}' % ($t1-$t0, $accepted/($t1-$t0), $bytes/1e6/($t1-$t0)))")"

# 2. Dispatch to null, unlimited (sampled every 100 ms for the chart).
curl -sf "${auth[@]}" -X POST "$api/v1/jobs/$job_null/run" > /dev/null
python3 "$here/sample_job.py" "$api" "$key" "$job_null" "$results_dir/throughput-null.csv" > /dev/null
v=$(wait_done "$job_null")
s=$(echo "$v" | run_seconds)
sent=$(echo "$v" | jget '["sent"]')
emit "$(python3 -c "print('{\"scenario\":\"dispatch_null\",\"recipients\":$sent,\"seconds\":%.3f,\"messages_per_s\":%.0f,\"server_rss_mb\":$(rss_mb $server)}' % ($s, $sent/$s))")"

# 3. Dispatch to the webhook sink on loopback, unlimited, with nothing else running.
hook_spec="{\"channel\":\"webhook\",\"webhook_url\":\"http://127.0.0.1:$sink_port/hook\",\"content\":{\"webhook\":{\"body\":{\"name\":\"{{name}}\"}}}}"
job_hook=$(create "$hook_spec")
gen_ndjson 0 "$SINK_N" | curl -sf "${auth[@]}" -H 'Content-Type: application/x-ndjson' -T - -X POST "$api/v1/jobs/$job_hook/users" > /dev/null
curl -sf "${auth[@]}" -X POST "$api/v1/jobs/$job_hook/run" > /dev/null
python3 "$here/sample_job.py" "$api" "$key" "$job_hook" "$results_dir/throughput-webhook.csv" > /dev/null
v=$(wait_done "$job_hook")
s=$(echo "$v" | run_seconds)
sent=$(echo "$v" | jget '["sent"]')
unique=$(curl -sf "http://127.0.0.1:$sink_port/_sink/stats" | jget '["unique"]')
emit "$(python3 -c "print('{\"scenario\":\"dispatch_webhook_sink\",\"recipients\":$sent,\"sink_unique\":$unique,\"seconds\":%.3f,\"messages_per_s\":%.0f}' % ($s, $sent/$s))")"

# 5. Status latency while a second, identical job dispatches to the sink:
# wrk asks for the job, then for a users page, as fast as one connection
# can (a busy dashboard, and more). Measured apart from 3, whose rate it lowers.
job_hook2=$(create "$hook_spec")
gen_ndjson "$SINK_N" "$SINK_N" | curl -sf "${auth[@]}" -H 'Content-Type: application/x-ndjson' -T - -X POST "$api/v1/jobs/$job_hook2/users" > /dev/null
curl -sf "${auth[@]}" -X POST "$api/v1/jobs/$job_hook2/run" > /dev/null
wrk -t1 -c1 -d5s -s "$here/latency.lua" -H "Authorization: Bearer $key" "$api/v1/jobs/$job_hook2" > "$work/wrk-status.txt" 2>&1 || true
wrk -t1 -c1 -d5s -s "$here/latency.lua" -H "Authorization: Bearer $key" "$api/v1/jobs/$job_hook2/users?limit=100" > "$work/wrk-users.txt" 2>&1 || true
v=$(wait_done "$job_hook2")
s=$(echo "$v" | run_seconds)
sent=$(echo "$v" | jget '["sent"]')
pct() { awk -v p="$2" '$1==p {print $2}' "$1"; }  # file pNN -> microseconds
emit "{\"scenario\":\"status_latency_during_dispatch\",\"job_p50_us\":$(pct "$work/wrk-status.txt" p50),\"job_p99_us\":$(pct "$work/wrk-status.txt" p99),\"job_p999_us\":$(pct "$work/wrk-status.txt" p99.9),\"users_page_p50_us\":$(pct "$work/wrk-users.txt" p50),\"users_page_p99_us\":$(pct "$work/wrk-users.txt" p99),\"users_page_p999_us\":$(pct "$work/wrk-users.txt" p99.9),\"job_requests_per_s\":$(awk '/Requests\/sec/ {print $2}' "$work/wrk-status.txt"),\"dispatch_messages_per_s_meanwhile\":$(python3 -c "print(round($sent/$s))")}"

# 4. Rate accuracy at 1 000/s and 20 000/s (null provider: the limiter
# alone, whatever the receiver's capacity), then the same limits delivered
# to the sink, which counts arrivals per millisecond: its max_1s_window is the
# busiest second, exactly (the sampler of the job's counters only sees
# committed windows). At 20 000/s the sink run is also bounded by how fast
# Crier reaches the sink on this machine, so only its window is the check.
for rate in 1000 20000; do
  n=$((rate * 10))
  job_r=$(create "{\"channel\":\"email\",\"provider\":\"null\",\"rate_limit\":$rate,\"content\":{\"email\":{\"subject\":\"s\",\"text\":\"t {{name}}\"}}}")
  gen_ndjson 0 "$n" | curl -sf "${auth[@]}" -H 'Content-Type: application/x-ndjson' -T - -X POST "$api/v1/jobs/$job_r/users" > /dev/null
  curl -sf "${auth[@]}" -X POST "$api/v1/jobs/$job_r/run" > /dev/null
  sampled=$(python3 "$here/sample_job.py" "$api" "$key" "$job_r" "$work/rate-$rate.csv" | jget '["max_1s_window"]')
  v=$(wait_done "$job_r")
  s=$(echo "$v" | run_seconds)
  emit "$(python3 -c "print('{\"scenario\":\"rate_accuracy\",\"limit\":$rate,\"recipients\":$n,\"seconds\":%.3f,\"achieved_per_s\":%.1f,\"error_pct\":%.2f,\"max_1s_window_sampled\":$sampled}' % ($s, $n/$s, ($n/$s-$rate)*100/$rate))")"

  job_r=$(create "{\"channel\":\"webhook\",\"webhook_url\":\"http://127.0.0.1:$sink_port/rate\",\"rate_limit\":$rate,\"content\":{\"webhook\":{\"body\":{\"name\":\"{{name}}\"}}}}")
  gen_ndjson 0 "$n" | curl -sf "${auth[@]}" -H 'Content-Type: application/x-ndjson' -T - -X POST "$api/v1/jobs/$job_r/users" > /dev/null
  curl -sf -X POST "http://127.0.0.1:$sink_port/_sink/reset" > /dev/null
  curl -sf "${auth[@]}" -X POST "$api/v1/jobs/$job_r/run" > /dev/null
  v=$(wait_done "$job_r")
  s=$(echo "$v" | run_seconds)
  window=$(curl -sf "http://127.0.0.1:$sink_port/_sink/stats" | jget '["max_1s_window"]')
  emit "$(python3 -c "print('{\"scenario\":\"rate_window_at_sink\",\"limit\":$rate,\"recipients\":$n,\"seconds\":%.3f,\"achieved_per_s\":%.1f,\"max_1s_window\":$window}' % ($s, $n/$s))")"
done

du_bytes=$(du -sb "$work/data" | cut -f1)
emit "{\"scenario\":\"data_dir\",\"bytes\":$du_bytes,\"server_peak_rss_mb\":$(rss_mb $server)}"

# The peer, in the same run: BullMQ + Redis (AOF everysec) doing the same work.
if [[ ${PEER:-1} != 0 ]]; then
  N=${PEER_N:-200000} DISPATCH_N=${PEER_DISPATCH_N:-50000} RESULTS="$results" \
    "$here/peers/bullmq/run.sh" "$crier" > /dev/null
fi

# The chart of scenarios 2 and 3: messages per second over time.
if command -v gnuplot > /dev/null; then
  gnuplot -e "null='$results_dir/throughput-null.csv'; hook='$results_dir/throughput-webhook.csv'; out='$here/../docs/benchmarks-throughput.png'" "$here/throughput.gp"
fi

echo
echo "scenario table:"
tail -n +"$first_line" "$results" | grep -h '"scenario"' | python3 -c '
import json,sys
for line in sys.stdin:
    d=json.loads(line); s=d.pop("scenario")
    print(f"{s:34} " + "  ".join(f"{k}={v}" for k,v in d.items()))'
