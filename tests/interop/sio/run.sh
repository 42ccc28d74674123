#!/usr/bin/env bash
# Run every sio interop suite against real peers and print one closing line for all of them.
#
# Needs (see README.md beside this file): a built wirelab (cargo build), `npm ci` here,
# a Python venv here with requirements.txt, redis-server >= 7, and /usr/bin/chromium.
# Each suite prints "sio-interop: N passed, N failed" and exits non-zero on failure.
set -u
cd "$(dirname "$0")"
export WIRELAB="${WIRELAB:-$(cd ../../.. && pwd)/target/debug/wirelab}"
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3

total_pass=0
total_fail=0
run() {
  local name=$1; shift
  echo "== $name: $*"
  local out rc
  out=$("$@" 2>&1); rc=$?
  echo "$out"
  local line p f
  line=$(printf '%s\n' "$out" | grep -E '^sio-interop: [0-9]+ passed, [0-9]+ failed' | tail -1)
  if [ -z "$line" ]; then
    p=0; f=1
  else
    p=$(echo "$line" | sed -E 's/^sio-interop: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  fi
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
}

run "socket.io-client 4.8 (node) vs sio serve" node node_clients.js
run "python-socketio 5 vs sio serve" "$PY" py_clients.py
run "sio connect vs node socket.io 4.8" node connect_vs_node.js
run "two sio serve through Redis" node redis_pair.js
run "chat page in headless Chromium" node browser.js

echo "sio-interop: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
