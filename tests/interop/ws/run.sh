#!/bin/bash
# Run wirelab's WebSocket interop suites against real peers, on 127.0.0.1 only.
#
#   tests/interop/ws/run.sh [python|node|browser|sio-page|autobahn ...]
#   (default: python node browser sio-page; sio-page is the Socket.IO chat page in Chromium)
#
# Needs: the wirelab binary ($WIRELAB_BIN, default target/debug/wirelab: `cargo build` first),
# `pip install -r tests/interop/ws/requirements.txt`, `npm ci` in tests/interop/ws, and
# Debian's chromium (/usr/bin/chromium, or $CHROMIUM). Autobahn needs Python 2.7
# (see autobahn.sh). Each suite prints `ws-interop: N passed, N failed`; this script adds
# them up, prints the total the same way, and exits non-zero if anything failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(python node browser sio-page)
passed=0; failed=0
for s in "${suites[@]}"; do
  case $s in
    python)   cmd=(python3 python_peers.py) ;;
    node)     cmd=(node node_peers.mjs) ;;
    browser)  cmd=(node browser.mjs) ;;
    sio-page) cmd=(node sio_page.mjs) ;;
    autobahn) cmd=(bash autobahn.sh) ;;
    *) echo "unknown suite $s"; exit 2 ;;
  esac
  echo "== ws interop: $s"
  out=$(timeout 900 "${cmd[@]}" 2>&1); rc=$?
  echo "$out"
  line=$(echo "$out" | grep -E '^ws-interop: [0-9]+ passed, [0-9]+ failed' | tail -1)
  if [ -z "$line" ]; then
    echo "ws interop: suite $s printed no result line (exit $rc)"
    failed=$((failed + 1))
    continue
  fi
  p=$(echo "$line" | sed -E 's/ws-interop: ([0-9]+) passed, ([0-9]+) failed/\1/')
  f=$(echo "$line" | sed -E 's/ws-interop: ([0-9]+) passed, ([0-9]+) failed/\2/')
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
done
echo "ws-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
