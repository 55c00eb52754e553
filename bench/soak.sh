#!/usr/bin/env bash
# The scale scenario of issue 4: one job of N recipients (10 million by
# default) ingested as one NDJSON stream and dispatched to `null` by the real
# `crier serve` on loopback; then the server's peak RSS and the data
# directory's size per recipient, before and after `crier compact`. Prints
# one JSON line (also appended to bench/results/<date>.jsonl).
#   bench/soak.sh [BUILD_DIR]      N=200000 for a quick check
# Needs: curl, python3. Uses ~3 GB in /tmp at N=10 000 000.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-bench}
crier=$build/crier
N=${N:-10000000}
port=${PORT:-18490}
work=$(mktemp -d /tmp/crier-soak.XXXXXX)
data=$work/data
results_dir=$here/results
mkdir -p "$results_dir"
results=$results_dir/$(date -u +%Y-%m-%d).jsonl
key=bench-key-000001
api=http://127.0.0.1:$port
server=
cleanup() { if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT
source "$here/lib.sh"
log() { echo "soak: $*" >&2; }

"$crier" serve --listen 127.0.0.1:$port --data-dir "$data" --api-key "$key=bench" > "$work/serve.log" 2>&1 &
server=$!
wait_line "$work/serve.log" "crier listening"

auth=(-H "Authorization: Bearer $key")

# 1. Ingest: one NDJSON stream, generated on the fly (~0.9 GB at 10 M).
job=$(create "$email_spec")
log "ingesting $N recipients into $job"
t0=$(now)
gen_ndjson 0 "$N" | curl -sf "${auth[@]}" -H 'Content-Type: application/x-ndjson' -T - -X POST "$api/v1/jobs/$job/users" > "$work/ingest.json"
t1=$(now)
accepted=$(jget '["accepted"]' < "$work/ingest.json")
[[ $accepted == "$N" ]] || { log "accepted $accepted of $N"; exit 1; }
ingest_rss=$(rss_mb $server)
bytes=$(gen_ndjson 0 "$N" | wc -c)  # counted apart, so the stream is not slowed

# 2. Dispatch to null, unlimited.
log "ingested in $(python3 -c "print(round($t1-$t0,1))") s; dispatching"
curl -sf "${auth[@]}" -X POST "$api/v1/jobs/$job/run" > /dev/null
v=$(wait_done "$job")
s=$(echo "$v" | run_seconds)
status=$(echo "$v" | jget '["status"]')
sent=$(echo "$v" | jget '["sent"]')
[[ $status == COMPLETED && $sent == "$N" ]] || { log "job ended $status with sent=$sent of $N"; echo "$v" >&2; exit 1; }

# 3. Memory and size: peak RSS and the data directory with the server up,
# then stopped (SIGTERM; RocksDB closes), compacted and measured again.
peak_rss=$(rss_mb $server)
before=$(du -sb "$data" | cut -f1)
kill -TERM "$server"
wait "$server" || { log "crier serve exited with $?"; cat "$work/serve.log" >&2; exit 1; }
server=
log "compacting"
t2=$(now)
"$crier" compact --data-dir "$data" > "$work/compact.txt"
t3=$(now)
cat "$work/compact.txt" >&2
after=$(du -sb "$data" | cut -f1)
# Column families with data, as {"name":sst_bytes,...}.
families=$(awk 'NR>1 && $2 ~ /^[0-9]+$/ && $2 > 0 {printf "%s\"%s\":%s", n++ ? "," : "", $1, $2}' "$work/compact.txt")

emit "$(python3 -c "print('{\"scenario\":\"scale_10m\",\"recipients\":$N,\"ingest_seconds\":%.3f,\"ingest_recipients_per_s\":%.0f,\"ingest_mb_per_s\":%.1f,\"dispatch_seconds\":%.3f,\"dispatch_messages_per_s\":%.0f,\"peak_rss_mb_after_ingest\":$ingest_rss,\"peak_rss_mb\":$peak_rss,\"data_dir_bytes_before_compaction\":$before,\"compact_seconds\":%.1f,\"data_dir_bytes_after_compaction\":$after,\"bytes_per_recipient_after_compaction\":%.1f,\"sst_bytes_by_cf\":{$families}}' % ($t1-$t0, $N/($t1-$t0), $bytes/1e6/($t1-$t0), $s, $sent/$s, $t3-$t2, $after/$N))")"
