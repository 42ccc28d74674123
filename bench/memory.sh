#!/bin/sh
# Memory of the long-running commands under load: `udp recv` over DATAGRAMS datagrams and
# `tcp serve --keep` over CONNECTIONS connections, RSS after the first 1,000 and at the end.
#
#   bench/memory.sh                          # this checkout's release build
#   bench/memory.sh /path/to/other/wirelab   # and another build, for comparison
#
# It runs tests/memory.rs (release) with larger counts: DATAGRAMS (default 1000000) and
# CONNECTIONS (default 10000). Everything is sent to 127.0.0.1; each load is bounded in count
# and in time (240 s) and stops by itself. A build that keeps every narration line (before
# the fix) fails the test's check, and the script still prints what it measured.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export WIRELAB_MEMORY_DATAGRAMS=${DATAGRAMS:-1000000}
export WIRELAB_MEMORY_CONNECTIONS=${CONNECTIONS:-10000}
cargo build --release --quiet || exit 1
run() { # label [binary]
  echo "== $1"
  if [ -n "${2:-}" ]; then export WIRELAB_BIN=$2; else unset WIRELAB_BIN; fi
  cargo test --release --quiet --test memory -- --nocapture --test-threads 1 2>&1 |
    grep -oE '(udp recv|tcp serve --keep): RSS.*|panicked.*|grew from.*'
}
run "this checkout: $(git rev-parse --short HEAD)"
[ $# -ge 1 ] && run "other build: $1" "$1"
exit 0
