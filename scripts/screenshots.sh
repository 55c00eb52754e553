#!/usr/bin/env bash
# Regenerates the dashboard's screenshots in docs/img/ (shown in the README):
# runs the browser test (tests/web/dashboard.test.mjs) with
# CRIER_SCREENSHOT_DIR set, so it saves the jobs list and a job page as it
# goes. Needs a configured build dir (make build); BUILD_DIR picks another.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
cmake --build "$build" -j "$(nproc)" --target crier web_node_modules
mkdir -p "$root/docs/img"
cd "$build" && CRIER_SCREENSHOT_DIR="$root/docs/img" ctest -R '^web_dashboard$' --output-on-failure
ls -l "$root/docs/img"/*.png
