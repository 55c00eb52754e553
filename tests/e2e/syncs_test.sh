#!/usr/bin/env bash
# Durability is the default: an ingest is fdatasync'd (RocksDB's WAL) before
# it is answered, and only --no-sync drops that. Proven on the real binary
# by counting the fsync/fdatasync calls strace sees while one ingest request
# is served: at least one by default, none with --no-sync.
# Usage: syncs_test.sh CRIER_BINARY
set -euo pipefail
crier=$1
work=$(mktemp -d /tmp/crier-syncs.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
key=sync-test-key-0001
failures=0

# Prints the number of sync calls made while one ingest was served.
syncs_during_ingest() {
  local name=$1; shift
  local dir=$work/$name
  mkdir -p "$dir"
  strace -f -qq -e trace=fsync,fdatasync -o "$dir/trace" \
    "$crier" serve --listen 127.0.0.1:0 --data-dir "$dir/data" --api-key "$key=acme" "$@" > "$dir/out" 2>&1 &
  pids+=($!)
  local url=""
  for _ in $(seq 1 200); do
    url=$(sed -n 's/^crier listening on \(http[^ ]*\).*/\1/p' "$dir/out" | head -1)
    [[ -n $url ]] && break
    sleep 0.05
  done
  [[ -n $url ]] || { echo "server did not start: $(cat "$dir/out")" >&2; exit 1; }
  local job
  job=$(curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -X POST "$url/v1/jobs" \
    -d '{"channel":"email","provider":"null","content":{"email":{"subject":"s","text":"t"}}}' |
    sed -E 's/.*"job_id":"([^"]+)".*/\1/')
  local before after
  before=$(wc -l < "$dir/trace")
  curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -X POST "$url/v1/jobs/$job/users" \
    -d '{"users":[{"email":"a@example.com"},{"email":"b@example.com"}]}' > "$dir/answer"
  grep -q '"accepted":2' "$dir/answer" || { echo "ingest not accepted: $(cat "$dir/answer")" >&2; exit 1; }
  # strace may write its line a moment after the call returned: give it up
  # to 2 s to show one (a default run that synced shows it at once).
  after=$(wc -l < "$dir/trace")
  for _ in $(seq 1 40); do
    (( after > before )) && break
    sleep 0.05
    after=$(wc -l < "$dir/trace")
  done
  echo $((after - before))
}

default=$(syncs_during_ingest default)
nosync=$(syncs_during_ingest nosync --no-sync)
echo "sync calls while one ingest was served: default $default, --no-sync $nosync"
if (( default < 1 )); then echo "FAIL: the default did not sync the ingest before answering" >&2; failures=$((failures + 1)); fi
if (( nosync != 0 )); then echo "FAIL: --no-sync still synced" >&2; failures=$((failures + 1)); fi
passed=$(( 2 - failures ))
echo "$passed passed, $failures failed"
exit $(( failures > 0 ))
