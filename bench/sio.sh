#!/usr/bin/env bash
# Socket.IO room-broadcast fan-out: deliveries per second to CLIENTS connected clients,
# wirelab's server (socketioxide) vs a node socket.io 4.8 server with the same events, driven by
# the same load client (bench/sio_load.rs), in one run; then two wirelab servers through Redis.
#
#   bench/sio.sh                       # CLIENTS=1000 MESSAGES=500 WINDOWS="8 500" RUNS=3
#   CLIENTS=500 MESSAGES=100 RUNS=5 bench/sio.sh
#   BEFORE=/tmp/wirelab-main bench/sio.sh   # an older build's server in the same run
#
# WINDOWS: how many broadcasts the sender may have in flight ahead of the slowest receiver.
# A small window (8) measures a paced flow, where per-message latency dominates; a window as
# large as MESSAGES is a burst, where how well the server batches writes dominates. Each
# receiver's queue on the server stays within the window (socketioxide drops messages for a
# socket whose queue is full: 1024 here), so keep windows below 1024.
#
# Needs: cargo, node + `npm ci` in tests/interop/sio, redis-server >= 7 (for the Redis part).
# Everything listens on and connects to 127.0.0.1 only; every load run is bounded in count
# (CLIENTS x MESSAGES) and time (TIMEOUT seconds) and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-1000}
MESSAGES=${MESSAGES:-500}
RUNS=${RUNS:-3}
WINDOWS=${WINDOWS:-8 500}
TIMEOUT=${TIMEOUT:-120}
BEFORE=${BEFORE:-}
ulimit -n 20000 2>/dev/null || true

cargo build --release --quiet --bin wirelab --example sio_load
WIRELAB=target/release/wirelab
LOAD=target/release/examples/sio_load
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  # start() runs in a command substitution (a subshell): its servers' PIDs come back through
  # files, since a subshell cannot add to this shell's PIDS.
  for f in "$TMP"/*.pid; do [ -e "$f" ] && PIDS+=("$(cat "$f")"); done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# start NAME CMD...: run a server in the background, wait for "listening on http://…", print the URL.
start() {
  local name=$1; shift
  "$@" > "$TMP/$name.log" 2>&1 &
  echo $! > "$TMP/$name.pid"
  for _ in $(seq 1 200); do
    if grep -qo 'listening on http://127\.0\.0\.1:[0-9]*' "$TMP/$name.log"; then
      grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/$name.log" | head -1
      return
    fi
    sleep 0.05
  done
  echo "$name did not start:" >&2; cat "$TMP/$name.log" >&2; exit 1
}

# load LABEL URL...: one load run, prints the rate (deliveries/s).
load() {
  local label=$1; shift
  local args=()
  for u in "$@"; do args+=(--url "$u"); done
  local line
  if ! line=$("$LOAD" "${args[@]}" --clients "$CLIENTS" --messages "$MESSAGES" --window "$window" \
    --timeout-secs "$TIMEOUT" --label "$label" 2>&1); then
    echo "  $label: run FAILED: $line" >&2
    echo 0
    return
  fi
  echo "  $line" >&2
  echo "$line" | sed -E 's/.*=> ([0-9]+) deliveries\/s.*/\1/'
}

# ticks NAME: CPU time (user+sys, clock ticks) of the server started as NAME so far; 0 if none.
ticks() { if [ -e "$TMP/$1.pid" ]; then awk '{print $14 + $15}' "/proc/$(cat "$TMP/$1.pid")/stat"; else echo 0; fi; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "room broadcast to $CLIENTS clients, $MESSAGES messages, windows $WINDOWS, $RUNS runs each ($(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg))"
W_URL=$(start wirelab "$WIRELAB" sio serve --port 0 --quiet)
N_URL=$(start node node tests/interop/sio/node_server.js 0 --quiet)
O_URL=""
if [ -n "$BEFORE" ]; then O_URL=$(start before "$BEFORE" sio serve --port 0 --quiet); echo "before: $BEFORE sio serve at $O_URL"; fi
echo "wirelab sio serve at $W_URL; node socket.io $(node -p 'require("./tests/interop/sio/node_modules/socket.io/package.json").version') at $N_URL"
A_URL=""
if command -v redis-server >/dev/null; then
  RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$TMP/redis"
  redis-server --bind 127.0.0.1 --port "$RPORT" --save '' --appendonly no --dir "$TMP/redis" > "$TMP/redis.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$RPORT") 2>/dev/null && break; sleep 0.05; done
  RURL="redis://127.0.0.1:$RPORT/?protocol=resp3"
  A_URL=$(start wa "$WIRELAB" sio serve --port 0 --quiet --name A --redis "$RURL")
  B_URL=$(start wb "$WIRELAB" sio serve --port 0 --quiet --name B --redis "$RURL")
  echo "two wirelab servers through redis-server $(redis-server --version | cut -d' ' -f3) at $A_URL and $B_URL"
fi

SUMMARY=()
for window in $WINDOWS; do
  echo "-- window $window"
  W=(); N=(); R=(); O=()
  declare -A T0=()
  for s in wirelab before node; do T0[$s]=$(ticks $s); done
  for i in $(seq 1 "$RUNS"); do
    W+=("$(load wirelab "$W_URL")")
    if [ -n "$O_URL" ]; then O+=("$(load before "$O_URL")"); fi
    N+=("$(load node "$N_URL")")
    if [ -n "$A_URL" ]; then R+=("$(load wirelab-2-servers-redis "$A_URL" "$B_URL")"); fi
  done
  WM=$(printf '%s\n' "${W[@]}" | median)
  NM=$(printf '%s\n' "${N[@]}" | median)
  line="window $window: median deliveries/s wirelab $WM, node $NM, ratio wirelab/node $(awk "BEGIN {printf \"%.2f\", $WM/($NM>0?$NM:1)}")"
  if [ -n "$O_URL" ]; then
    line="$line; before $(printf '%s\n' "${O[@]}" | median)"
  fi
  cpu="server CPU (user+sys) over the $RUNS runs:"
  for s in wirelab before node; do
    [ -e "$TMP/$s.pid" ] && cpu="$cpu $s $(awk -v t="$(( $(ticks $s) - ${T0[$s]} ))" -v h="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / h}') s"
  done
  line="$line; $cpu"
  if [ -n "$A_URL" ]; then
    line="$line; 2 wirelab servers through Redis $(printf '%s\n' "${R[@]}" | median)"
  fi
  SUMMARY+=("$line")
done
echo
printf '%s\n' "${SUMMARY[@]}"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "$A_URL" ] || echo "(no redis-server: the two-server runs were skipped)"
