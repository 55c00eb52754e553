#!/usr/bin/env bash
# Installs Crier's build and test dependencies from Debian's packages, only
# when one is missing, so a warm machine starts at once. Needs root (or sudo).
set -euo pipefail

packages=(
  g++ make cmake pkg-config ccache python3
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  librocksdb-dev libsimdjson-dev libfmt-dev libspdlog-dev libcli11-dev
  libtomlplusplus-dev libkainjow-mustache-dev libssl-dev libxxhash-dev libcsv-dev
  libjemalloc-dev  # the server's allocator
  tmux  # the CLI's terminal tests (tests/cli): progress bars on a real terminal
  curl
  strace  # tests/e2e/syncs_test.sh counts the syncs of an ingest
  python3-aiosmtpd openssl  # the SMTP provider tests: a real SMTP server and a test certificate
  prometheus python3-prometheus-client  # the /metrics tests: promtool's linter and the Python client's parser
  chromium  # tests/web: the dashboard in a real headless browser (/usr/bin/chromium, driven by playwright-core)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# tests/compat runs the vendors' Node clients (npm ci from a lockfile, then
# node --test). Any node >= 18 with its npm will do: a machine that has them
# (e.g. a newer nodejs that bundles npm) keeps them; one without gets Debian's.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
