#!/usr/bin/env bash
# After a sanitized ctest run (make test-asan / test-tsan): prints every report
# the sanitizers wrote and fails if there is one.
#
# Why a directory of reports and not only exit codes: many tests start other
# processes (`crier serve`, `crier sink`, the CLI commands, the Node façade
# tests' server), and a finding in one of those reaches the test only if the
# test happens to check that child's exit code or output; a server killed with
# SIGKILL never reports its leaks, but one stopped with SIGTERM does, into a log
# nobody reads. The Makefile sets log_path (with log_exe_name) in
# ASAN_OPTIONS / UBSAN_OPTIONS / TSAN_OPTIONS, so every process of the run,
# test or child, writes its reports as files into this directory.
#
# Usage: sanitizer-reports.sh DIR
set -uo pipefail
dir=${1:?usage: sanitizer-reports.sh DIR}
shopt -s nullglob
reports=("$dir"/*)
if [ ${#reports[@]} -eq 0 ]; then
  echo "sanitizer reports: none"
  exit 0
fi
for f in "${reports[@]}"; do
  echo "===== $f"
  cat "$f"
done
echo "sanitizer reports: ${#reports[@]} file(s) in $dir (above); each is a finding to fix" >&2
exit 1
