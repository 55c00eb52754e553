#!/usr/bin/env bash
# Profiles at scale (part of `make bench`; docs/benchmarks.md quotes it):
#   import: 200 000 profiles through the batched store path, again as
#     updates, then through the import handler (bench/profile_bench.cpp);
#     then one NDJSON body of 200 000 to a real `crier serve` over HTTP
#   segments: N (1 000 000) profiles stored, then every one read and
#     matched; then a job's audience streamed in (the run's step) over N and
#     over 1 000, each in a process of its own, so that their peak RSS
#     (VmHWM) compare.
# Usage: bench/profiles.sh [build dir]   (N=..., IMPORT_N=... to change sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
N=${N:-1000000}
IMPORT_N=${IMPORT_N:-200000}
bin=$build/bench/crier_profile_bench
crier=$build/crier
results=bench/results/$(date -u +%F).jsonl
source bench/lib.sh
work=$(mktemp -d /tmp/crier-profiles-XXXXXX)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
echo "{\"scenario\":\"profiles_run\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" | tee -a "$results"

emit "$("$bin" import "$work/import" "$IMPORT_N")"

"$bin" populate "$work/big" "$N" | tee -a "$results"
emit "$("$bin" evaluate "$work/big")"
emit "$("$bin" stream "$work/big")"
"$bin" populate "$work/small" 1000 > /dev/null
emit "$("$bin" stream "$work/small")"

# Over HTTP: one NDJSON body to the real server (synced writes, loopback).
port=$((20000 + RANDOM % 20000))
key=bench-key-profiles-0001
"$crier" serve --listen 127.0.0.1:$port --data-dir "$work/data" --api-key "$key=bench" > "$work/serve.log" 2>&1 &
server=$!
wait_line "$work/serve.log" "crier listening"
awk -v n="$IMPORT_N" 'BEGIN{for(i=0;i<n;i++) printf "{\"user_id\":\"user-%08d\",\"email\":\"user%d@example.com\",\"locale\":\"en\",\"attributes\":{\"plan\":\"%s\",\"visits\":%d,\"signed_up\":\"2026-03-01T10:00:00Z\"},\"subscriptions\":{\"email\":\"subscribed\"}}\n",i,i,(i%10==0?"pro":"free"),i%97}' > "$work/profiles.ndjson"
bytes=$(stat -c %s "$work/profiles.ndjson")
t0=$(now)
answer=$(curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/x-ndjson' --data-binary @"$work/profiles.ndjson" \
  "http://127.0.0.1:$port/v1/profiles/import")
t1=$(now)
created=$(echo "$answer" | jget '["created"]')
emit "$(python3 -c "print('{\"scenario\":\"profile_import_http\",\"profiles\":$created,\"seconds\":%.3f,\"profiles_per_s\":%.0f,\"mb_per_s\":%.1f,\"server_peak_rss_mb\":$(rss_mb $server)}' % ($t1-$t0, $created/($t1-$t0), $bytes/1e6/($t1-$t0)))")"
