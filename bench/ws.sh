#!/bin/bash
# WebSocket echo benchmark: wirelab's server against node's `ws`, driven by the same load
# client (`wirelab ws load`, hidden), in one run, on 127.0.0.1 only.
#
#   bench/ws.sh            (ROUNDS=3 SECONDS_EACH=3 HOLD=10000 BEFORE=path/to/old/wirelab)
#
# Needs: cargo, node, and the ws package: (cd tests/interop/ws && npm ci).
# Prints, for 64-byte messages over 1 and 100 connections, the median messages/s of each
# server over ROUNDS rounds, their ratio and each server's CPU time (user+sys); then holds HOLD
# connections open at once against each server (each connection echoes once when it opens,
# all are held together, then each echoes again) and measures each server's memory (RSS)
# while they are held. BEFORE adds an older wirelab binary's server to the same run.
# Every load is bounded by count and time: each round stops after SECONDS_EACH seconds or
# 2,000,000 messages per connection, and the client gives up 5 s later whatever happens.
# Every server this script starts is stopped, by its PID, when it ends.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ROUNDS=${ROUNDS:-3}
SECONDS_EACH=${SECONDS_EACH:-3}
HOLD=${HOLD:-10000}
BEFORE=${BEFORE:-}

cargo build --release --quiet || exit 1
bin=$root/target/release/wirelab
nm=$root/tests/interop/ws/node_modules
if [ ! -d "$nm/ws" ]; then
  echo "bench/ws.sh: node's ws is missing: (cd tests/interop/ws && npm ci)"; exit 1
fi

# 10,000 connections need 10,000 file descriptors in each process (20,000 in the client for
# both ends' sake of margin): raise the soft limit as far as the hard limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null
echo "file descriptor limit: $(ulimit -n); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"

pids=()
log=$(mktemp -d)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$log"
}
trap cleanup EXIT INT TERM

wait_port() { # file → port printed as "listening on 127.0.0.1:PORT"
  for _ in $(seq 100); do
    p=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$1" | head -1)
    [ -n "$p" ] && { echo "$p"; return; }
    sleep 0.1
  done
  echo "no port in $1" >&2; exit 1
}

names=(); ports=(); spids=()
"$bin" --color never ws serve --echo --quiet --port 0 > "$log/wirelab.log" 2>&1 &
pids+=($!); names+=(wirelab); spids+=($!)
if [ -n "$BEFORE" ]; then
  "$BEFORE" --color never ws serve --echo --quiet --port 0 > "$log/before.log" 2>&1 &
  pids+=($!); names+=(before); spids+=($!)
fi
NODE_PATH=$nm node -e '
  const { WebSocketServer } = require("ws");
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  wss.on("listening", () => console.log("listening on 127.0.0.1:" + wss.address().port));
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
' > "$log/node.log" 2>&1 &
pids+=($!); names+=(node); spids+=($!)
for n in "${names[@]}"; do ports+=("$(wait_port "$log/$n.log")"); done
for i in "${!names[@]}"; do
  echo "${names[$i]}: 127.0.0.1:${ports[$i]} (pid ${spids[$i]})"
done
echo "node ws $(node -p "require('$nm/ws/package.json').version")"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rate() { # port connections → messages/s
  "$bin" ws load "ws://127.0.0.1:$1/ws" --connections "$2" --size 64 --window 32 \
    --seconds "$SECONDS_EACH" --messages 2000000 | sed -nE 's/messages_per_second=([0-9]+).*/\1/p'
}
hz=$(getconf CLK_TCK)

echo
echo "echo of 64-byte messages, 32 in flight per connection, ${SECONDS_EACH} s per round, median of $ROUNDS rounds (server CPU: user+sys over all rounds)"
for conns in 1 100; do
  declare -A got=() cpu=()
  for _ in $(seq "$ROUNDS"); do
    for i in "${!names[@]}"; do
      t0=$(ticks "${spids[$i]}")
      got[$i]="${got[$i]:-} $(rate "${ports[$i]}" "$conns")"
      cpu[$i]=$(( ${cpu[$i]:-0} + $(ticks "${spids[$i]}") - t0 ))
    done
  done
  node_i=$(( ${#names[@]} - 1 ))
  n=$(printf '%s\n' ${got[$node_i]} | median)
  for i in "${!names[@]}"; do
    m=$(printf '%s\n' ${got[$i]} | median)
    ratio=$(awk -v a="$m" -v b="$n" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    printf 'connections %-4s %-8s %10s msg/s  %6sx node  cpu %5.2f s  (rounds:%s)\n' \
      "$conns" "${names[$i]}" "$m" "$ratio" "$(awk -v t="${cpu[$i]}" -v h="$hz" 'BEGIN {print t / h}')" "${got[$i]}"
  done
  unset got cpu
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "holding $HOLD connections open at once (each echoed once on opening), then one more echo on each"
for i in "${!names[@]}"; do
  port=${ports[$i]}; pid=${spids[$i]}
  rss0=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  "$bin" ws load "ws://127.0.0.1:$port/ws" --hold "$HOLD" --seconds 3 > "$log/hold.out" 2>&1 &
  lpid=$!; pids+=("$lpid")
  # While the connections are held, measure the server's memory (the most seen).
  peak=0; fds=0
  for _ in $(seq 120); do
    kill -0 "$lpid" 2>/dev/null || break
    n=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    r=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    [ "$n" -gt "$fds" ] && fds=$n
    [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.25
  done
  wait "$lpid"
  printf '%-8s %s; server: %s descriptors open at most, RSS %s MB before, %s MB at most while held\n' \
    "${names[$i]}" "$(cat "$log/hold.out")" "$fds" "$((rss0 / 1024))" "$((peak / 1024))"
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
