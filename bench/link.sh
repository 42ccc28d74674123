#!/bin/sh
# Link emulator accuracy: how close the lab's emulated link comes to its settings, at 1, 10 and
# 100 Mbit/s, with wirelab's own shaper and with the kernel's tbf, and what the emulator costs.
#
#   sh bench/link.sh [DELAY]            (default 20ms one way)
#
# Each setting builds a lab client — r1 — server whose link 2 has rate=R,delay=DELAY and runs,
# inside the lab's namespaces:
#   * peers no one here wrote: `busybox ping` (50 echo requests, 50 ms apart) for the delay, and
#     a bounded TCP bulk transfer (python's socket module, bench/link_peer.py: 3 s worth of the
#     rate) for the rate;
#   * `wirelab lab measure`: ICMP echoes timed by the kernel for the delay, a UDP stream at 130%
#     of the rate, timed by the receiver's kernel, for the rate.
# The emulator's CPU time comes from its own thread's clock (CLOCK_THREAD_CPUTIME_ID), as the
# lab reports it when the shell ends.
#
# Expected values: one-way delay = DELAY; ping RTT = 2 × (DELAY + the time a 98-byte frame
# takes to send at R) with wirelab's shaper (tbf lets a lone small frame through at once);
# TCP goodput = R × 1448/1514 (full frames carry 1448 bytes of data with TCP timestamps).
# Needs busybox and python3; runs as an ordinary user (the lab needs no root).
set -eu
cd "$(dirname "$0")/.."
DELAY=${1:-20ms}
cargo build --release --quiet
W=$PWD/target/release/wirelab
PEER=$PWD/bench/link_peer.py
OUT=$(mktemp -d)
chmod 755 "$OUT"
trap 'rm -rf "$OUT"' EXIT
SERVER=203.0.113.2

echo "one emulated link (client — r1 ══ server), delay=$DELAY one way; medians of each run"
printf '%-9s %-8s | %-28s | %-28s | %-24s | %-33s | %s\n' rate shaper \
  "ping RTT median (expected)" "one-way delay, measure" "rate: UDP / TCP goodput" "emulator CPU" \
  "late p50/p99"
for rate in 1 10 100; do
  bytes=$((rate * 375000))
  for shaper in wirelab tbf; do
    spec="rate=${rate}mbit,delay=$DELAY,shaper=$shaper"
    "$W" --color never lab --routers 1 --link "$spec" measure --json > "$OUT/measure.json"
    "$W" --color never lab --routers 1 --link "$spec" shell --host client -- sh -c "
      \"$W\" lab shell --host server -- python3 \"$PEER\" serve $SERVER 5001 > \"$OUT/tcp.json\" &
      sleep 0.5
      busybox ping -c 51 -i 0.05 $SERVER > \"$OUT/ping.txt\"
      python3 \"$PEER\" send $SERVER 5001 $bytes
      wait
    " 2> "$OUT/shell.err"
    python3 "$PEER" ping "$OUT/ping.txt" > "$OUT/ping.json"
    python3 - "$OUT" "$rate" "$shaper" "$DELAY" <<'PY'
import json, re, sys
out, rate, shaper, delay = sys.argv[1], float(sys.argv[2]) * 1e6, sys.argv[3], sys.argv[4]
d = float(delay.rstrip("ms")) if delay.endswith("ms") else float(delay.rstrip("s")) * 1e3
m = json.load(open(f"{out}/measure.json"))
p = json.load(open(f"{out}/ping.json"))
t = json.load(open(f"{out}/tcp.json"))
err = open(f"{out}/shell.err").read()
tx = 98 * 8 / rate * 1e3 if shaper == "wirelab" else 0.0
expected = 2 * (d + tx)
one_way_ping = p["median"] / 2 - tx
cpu = re.search(r"emulator: ([0-9.]+) s of CPU in ([0-9.]+) s", err)
frames = sum(int(n) for n in re.findall(r"(\d+) frames in", err))
unasked = sum(int(n) for n in re.findall(r"lost without being asked: (\d+)", err))
goodput = t.get("goodput_bps", 0)
tcp_err = 100 * (goodput - rate * 1448 / 1514) / (rate * 1448 / 1514)
cpu_s, wall = float(cpu.group(1)), float(cpu.group(2))
# How late the emulator sent frames against their schedule (its own histogram, client → server,
# during `measure`): the bucket bound that half and 99% of the frames stayed within.
bounds = [10, 25, 50, 100, 250, 500, 1000, 2000, 5000, 10000, float("inf")]
hist = m["links"][0]["dirs"][0]["late_hist"]
def q(f):
    want, seen = sum(hist) * f, 0
    for b, n in zip(bounds, hist):
        seen += n
        if seen >= want:
            return "≤" + (f"{b}" if b != float("inf") else ">10000")
late = f"{q(0.5)}/{q(0.99)} µs"
print(f"{rate/1e6:>4.0f}mbit  {shaper:<8} | {p['median']:7.3f} ms ({expected:7.3f}) "
      f"{one_way_ping - d:+.3f} | ping {one_way_ping - d:+.3f}, measure {m['delay']['error_ms']:+.3f} ms "
      f"| {m['rate']['error_pct']:+6.2f}% / {tcp_err:+6.2f}%     "
      f"| {100*cpu_s/wall:4.1f}% of a core, {1e6*cpu_s/max(frames,1):5.1f} µs/frame | {late}"
      + (f"  [{unasked} frames lost unasked]" if unasked else ""))
PY
  done
done
echo "(one-way delay errors in ms, rate errors in % of the setting: UDP from the receiver's kernel"
echo " timestamps, TCP goodput against rate × 1448/1514; CPU over the whole shell run, and per"
echo " frame the emulator handled; late: how far behind schedule the emulator sent frames during"
echo " measure's UDP stream, half and 99% of them, as bucket bounds)"
uptime
