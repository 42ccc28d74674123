#!/bin/bash
# WebSocket echo benchmark: wirelab's server against node's `ws`, driven by the same load
# client (`wirelab ws load`, hidden), in one run, on 127.0.0.1 only.
#
#   bench/ws.sh            (ROUNDS=3 SECONDS_EACH=3 HOLD=10000 may be set)
#
# Needs: cargo, node, and the ws package: (cd tests/interop/ws && npm ci).
# Prints, for 64-byte messages over 1 and 100 connections, the median messages/s of each
# server over ROUNDS rounds and their ratio; then holds HOLD connections open at once
# against each server and checks that every one still echoes.
# Every load is bounded by count and time: each round stops after SECONDS_EACH seconds or
# 2,000,000 messages per connection, and the client gives up 5 s later whatever happens.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ROUNDS=${ROUNDS:-3}
SECONDS_EACH=${SECONDS_EACH:-3}
HOLD=${HOLD:-10000}

cargo build --release --quiet || exit 1
bin=$root/target/release/wirelab
nm=$root/tests/interop/ws/node_modules
if [ ! -d "$nm/ws" ]; then
  echo "bench/ws.sh: node's ws is missing: (cd tests/interop/ws && npm ci)"; exit 1
fi

# 10,000 connections need 10,000 file descriptors in each process (20,000 in the client for
# both ends' sake of margin): raise the soft limit as far as the hard limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null
echo "file descriptor limit: $(ulimit -n)"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT

wait_port() { # file → port printed as "listening on 127.0.0.1:PORT"
  for _ in $(seq 100); do
    p=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$1" | head -1)
    [ -n "$p" ] && { echo "$p"; return; }
    sleep 0.1
  done
  echo "no port in $1" >&2; exit 1
}

log=$(mktemp -d)
"$bin" --color never ws serve --echo --quiet --port 0 > "$log/wirelab.log" 2>&1 &
wl_pid=$!; pids+=("$wl_pid")
NODE_PATH=$nm node -e '
  const { WebSocketServer } = require("ws");
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  wss.on("listening", () => console.log("listening on 127.0.0.1:" + wss.address().port));
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
' > "$log/node.log" 2>&1 &
node_pid=$!; pids+=("$node_pid")
wl_port=$(wait_port "$log/wirelab.log")
node_port=$(wait_port "$log/node.log")
echo "wirelab ws serve --echo: 127.0.0.1:$wl_port (pid $wl_pid);  node ws $(node -p "require('$nm/ws/package.json').version"): 127.0.0.1:$node_port (pid $node_pid)"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate() { # port connections → messages/s
  "$bin" ws load "ws://127.0.0.1:$1/ws" --connections "$2" --size 64 --window 32 \
    --seconds "$SECONDS_EACH" --messages 2000000 | sed -nE 's/messages_per_second=([0-9]+).*/\1/p'
}

echo
echo "echo of 64-byte messages, 32 in flight per connection, ${SECONDS_EACH} s per round, median of $ROUNDS rounds"
printf '%-12s %16s %16s %8s\n' connections "wirelab msg/s" "node ws msg/s" ratio
for conns in 1 100; do
  wl=(); nd=()
  for _ in $(seq "$ROUNDS"); do
    wl+=("$(rate "$wl_port" "$conns")")
    nd+=("$(rate "$node_port" "$conns")")
  done
  w=$(printf '%s\n' "${wl[@]}" | median); n=$(printf '%s\n' "${nd[@]}" | median)
  ratio=$(awk -v a="$w" -v b="$n" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  printf '%-12s %16s %16s %7sx   (rounds: wirelab %s; node %s)\n' "$conns" "$w" "$n" "$ratio" "${wl[*]}" "${nd[*]}"
done

echo
echo "holding $HOLD connections open at once, then one echo on each"
for name in wirelab node; do
  if [ $name = wirelab ]; then port=$wl_port; pid=$wl_pid; else port=$node_port; pid=$node_pid; fi
  out=$("$bin" ws load "ws://127.0.0.1:$port/ws" --hold "$HOLD" --seconds 2 2>&1 &
        lpid=$!
        sleep 1.5
        # While the connections are held, measure the server's memory.
        for _ in $(seq 60); do
          n=$(ls /proc/$pid/fd 2>/dev/null | wc -l)
          [ "$n" -ge "$HOLD" ] && break; sleep 0.5
        done
        echo "server_fds=$(ls /proc/$pid/fd 2>/dev/null | wc -l) server_rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)" >&2
        wait $lpid)
  echo "$name: $out"
done 2>&1
