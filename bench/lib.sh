# Shared by bench/load.sh and bench/soak.sh (sourced): timing, JSON, the
# server's API, and the sample record. Callers set $results, $api and $auth.

now() { date +%s.%N; }
rss_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
emit() { echo "$1" | tee -a "$results"; }
wait_line() {  # file pattern
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

create() {  # json spec -> job id
  curl -sf "${auth[@]}" -H 'Content-Type: application/json' -d "$1" "$api/v1/jobs" | jget '["job_id"]'
}
wait_done() {  # job id -> final view (polled without starting a python per look: it would take CPU from the run)
  while :; do
    v=$(curl -sf "${auth[@]}" "$api/v1/jobs/$1")
    case $v in *'"status":"COMPLETED"'*|*'"status":"PARTIAL"'*|*'"status":"FAILED"'*|*'"status":"CANCELLED"'*) echo "$v"; return;; esac
    sleep 0.2
  done
}
run_seconds() {  # final view -> seconds from started_at to finished_at
  python3 -c '
import json,sys,datetime
d=json.load(sys.stdin)
p=lambda s: datetime.datetime.fromisoformat(s.replace("Z","+00:00"))
print((p(d["finished_at"])-p(d["started_at"])).total_seconds())'
}

gen_ndjson() {  # first count -> NDJSON users (the sample record)
  awk -v f="$1" -v n="$2" 'BEGIN{for(i=f;i<f+n;i++) printf "{\"user_id\":\"user-%07d\",\"email\":\"user%d@example.com\",\"data\":{\"name\":\"User %d\",\"amount\":\"%d.50\"}}\n",i,i,i,i%1000}'
}

email_spec='{"channel":"email","provider":"null","content":{"email":{"subject":"Your invoice, {{name}}","text":"Dear {{name}}, you owe {{amount}}."}}}'
