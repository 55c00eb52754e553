#!/usr/bin/env bash
# Runs libFuzzer targets built in a build dir (make fuzz), each for a time,
# one job (CPU is shared), from its committed corpus; then merges what found
# new coverage back into tests/fuzz/corpus/<name> (libFuzzer's -merge keeps
# only inputs that add coverage), keeping FUZZ_CORPUS_KEEP (25) of them.
# Crashes land in <build>/artifacts/<name>/: copy one into the corpus once
# the parser is fixed, so `make test` replays it as a regression.
#   tests/fuzz/run.sh BUILD_DIR SECONDS [NAME...]
set -euo pipefail
build=$1 seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$build"/tests/fuzz/*_fuzz; do names+=("$(basename "$f" _fuzz)"); done
fi
# Leaks are not parser bugs here; the world's store lives for the process.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
keep=${FUZZ_CORPUS_KEEP:-25}
status=0
for name in "${names[@]}"; do
  bin=$build/tests/fuzz/${name}_fuzz
  seeds=$here/corpus/$name
  work=$build/fuzz-corpus/$name
  artifacts=$build/artifacts/$name
  mkdir -p "$seeds" "$work" "$artifacts"
  echo "== $name: ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$work" "$seeds" 2>"$build/fuzz-$name.log"; then
    echo "   FOUND a failure: $(ls -t "$artifacts" | head -1) (log: $build/fuzz-$name.log)"
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$build/fuzz-$name.log" | sed 's/^/   /' || true
  "$bin" -merge=1 -max_len=4096 -timeout=10 "$seeds" "$work" >>"$build/fuzz-$name.log" 2>&1 || true
  # The repo keeps at most $keep files a target: the seed-* and regress-*
  # inputs always, then the largest of the merged ones (they tend to cover
  # the most); the rest stay in $work for the next run.
  ls -S "$seeds" | grep -v -E '^(seed|regress)-' | tail -n +$((keep + 1)) | sed "s|^|$seeds/|" | xargs -r rm --
  echo "   corpus: $(ls "$seeds" | wc -l) files"
done
exit $status
