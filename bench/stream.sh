#!/bin/sh
# Stream analysis speed: wirelab against tshark on the same capture, in one run.
#
#   bench/stream.sh [CONNECTIONS]      (default 20000 connections, about 350 000 packets)
#
# Builds a capture of TCP connections (handshake, request, 6 KB response with a loss and a
# fast retransmission in every tenth, teardown) with bench/make_tcp_capture.py, then times:
#   1. conversation statistics: `wirelab dissect --stats`  vs  `tshark -q -z conv,tcp` (goal <= 0.25)
#   2. per-packet analysis fields, the same five columns from both:
#      `wirelab dissect --view fields -e tcp.stream -e tcp.seq -e tcp.ack
#      -e tcp.analysis.ack_rtt -e tcp.analysis.retransmission` vs `tshark -T fields -e …` (same)
# with hyperfine, and prints the median ratios. Needs: python3, tshark, hyperfine, and a
# release build (cargo build --release). Nothing is sent on any network.
set -eu
N=${1:-20000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W="$ROOT/target/release/wirelab"
[ -x "$W" ] || { echo "build first: cargo build --release" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CAP="$TMP/tcp.pcap"
python3 "$ROOT/bench/make_tcp_capture.py" "$CAP" "$N"
echo "capture: $N connections, $(tshark -r "$CAP" -T fields -e frame.number 2>/dev/null | wc -l) packets, $(du -h "$CAP" | cut -f1)"

FIELDS="-e tcp.stream -e tcp.seq -e tcp.ack -e tcp.analysis.ack_rtt -e tcp.analysis.retransmission"
hyperfine --warmup 1 --runs 5 --export-json "$TMP/stats.json" \
  -n wirelab-stats "$W dissect $CAP --stats --color never > /dev/null" \
  -n tshark-conv "tshark -r $CAP -q -z conv,tcp > /dev/null 2>&1"
hyperfine --warmup 1 --runs 5 --export-json "$TMP/fields.json" \
  -n wirelab-fields "$W dissect $CAP --view fields $FIELDS > /dev/null" \
  -n tshark-fields "tshark -n -r $CAP -T fields $FIELDS > /dev/null 2>&1"

python3 - "$TMP/stats.json" "$TMP/fields.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    r = {x["command"]: x["median"] for x in json.load(open(path))["results"]}
    (a, ta), (b, tb) = list(r.items())
    print(f"{a}: median {ta:.3f} s   {b}: median {tb:.3f} s   ratio wirelab/tshark = {ta / tb:.2f}")
PY
