#!/bin/bash
# Autobahn|Testsuite against wirelab's WebSocket, both roles, on 127.0.0.1 only.
#
#   fuzzingclient: Autobahn's client attacks `wirelab ws serve --echo`;
#   fuzzingserver: `wirelab ws connect --autobahn` runs every case against Autobahn's server.
#
# Cases 12.* and 13.* (permessage-deflate compression, which wirelab does not offer) are
# excluded. Needs Python 2.7 (pyenv's 2.7.18, or python2.7 on PATH); the virtualenv is made
# in target/autobahn/ from autobahn-requirements.txt the first time. Prints the counts per
# role (OK / NON-STRICT / INFORMATIONAL / UNIMPLEMENTED / FAILED) and
# `ws-interop: N passed, N failed` (a case passes unless Autobahn says FAILED).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${WIRELAB_BIN:-$root/target/debug/wirelab}
work=$root/target/autobahn
mkdir -p "$work"

py2=""
if command -v pyenv >/dev/null && [ -x "$(pyenv root)/versions/2.7.18/bin/python" ]; then
  py2="$(pyenv root)/versions/2.7.18/bin/python"
elif command -v python2.7 >/dev/null; then
  py2=$(command -v python2.7)
fi
if [ -z "$py2" ]; then
  echo "SKIPPED autobahn: Python 2.7 is not installed (Autobahn|Testsuite 0.8.2 needs it)"
  if [ "${CI:-}" = "true" ]; then echo "ws-interop: 0 passed, 1 failed"; exit 1; fi
  echo "ws-interop: 0 passed, 0 failed"
  exit 0
fi

venv=$work/venv
if [ ! -x "$venv/bin/wstest" ]; then
  echo "autobahn: making a Python 2.7 virtualenv in $venv"
  python3 -m venv "$work/vtool" && "$work/vtool/bin/pip" install -q 'virtualenv<20.22' &&
    "$work/vtool/bin/virtualenv" -q -p "$py2" "$venv" &&
    "$venv/bin/pip" install -q -r "$here/autobahn-requirements.txt" || {
      echo "autobahn: could not install autobahntestsuite"; echo "ws-interop: 0 passed, 1 failed"; exit 1; }
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT

# 1. fuzzingclient against `ws serve --echo`.
rm -rf "$work/servers" "$work/clients"
"$bin" --color never ws serve --echo --quiet --port 0 > "$work/serve.log" 2>&1 &
serve_pid=$!; pids+=("$serve_pid")
for _ in $(seq 100); do grep -q 'listening on' "$work/serve.log" && break; sleep 0.1; done
port=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$work/serve.log")
cat > "$work/fuzzingclient.json" <<JSON
{"outdir": "$work/servers", "servers": [{"agent": "wirelab", "url": "ws://127.0.0.1:$port/ws"}],
 "cases": ["*"], "exclude-cases": ["12.*", "13.*"], "exclude-agent-cases": {}}
JSON
echo "autobahn: fuzzingclient → ws://127.0.0.1:$port/ws"
(cd "$work" && timeout 1800 "$venv/bin/wstest" -m fuzzingclient -s "$work/fuzzingclient.json" > "$work/fuzzingclient.log" 2>&1)
kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null

# 2. fuzzingserver for `ws connect --autobahn`.
aport=$(free_port)
cat > "$work/fuzzingserver.json" <<JSON
{"url": "ws://127.0.0.1:$aport", "outdir": "$work/clients",
 "cases": ["*"], "exclude-cases": ["12.*", "13.*"], "exclude-agent-cases": {}}
JSON
(cd "$work" && exec "$venv/bin/wstest" -m fuzzingserver -s "$work/fuzzingserver.json" > "$work/fuzzingserver.log" 2>&1) &
fs_pid=$!; pids+=("$fs_pid")
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$aport),0.2)" 2>/dev/null && break; sleep 0.2; done
echo "autobahn: fuzzingserver at ws://127.0.0.1:$aport ← wirelab ws connect --autobahn"
timeout 1800 "$bin" ws connect --autobahn "ws://127.0.0.1:$aport" > "$work/connect.log" 2>&1
kill "$fs_pid" 2>/dev/null; wait "$fs_pid" 2>/dev/null

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
total_pass = total_fail = 0
for role, sub in (("server (fuzzingclient → ws serve --echo)", "servers"), ("client (fuzzingserver ← ws connect --autobahn)", "clients")):
    path = os.path.join(work, sub, "index.json")
    if not os.path.exists(path):
        print(f"autobahn {role}: no report at {path}")
        total_fail += 1
        continue
    index = json.load(open(path))
    counts, failed = {}, []
    for agent, cases in index.items():
        for case, r in cases.items():
            b = r.get("behavior", "?")
            counts[b] = counts.get(b, 0) + 1
            if b == "FAILED" or r.get("behaviorClose") == "FAILED":
                failed.append(f"{case} ({b}, close {r.get('behaviorClose')})")
    n = sum(counts.values())
    print(f"autobahn {role}: {n} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for f in failed:
        print(f"  FAILED {f}")
    total_fail += len(failed)
    total_pass += n - len(failed)
print(f"ws-interop: {total_pass} passed, {total_fail} failed")
sys.exit(1 if total_fail else 0)
PY
