#!/bin/sh
# The summary view against tcpdump on the same capture, in one run.
#
#   bench/summary_vs_tcpdump.sh [PACKETS]      (default 1000000)
#
# Makes (once) a capture of synthetic lab traffic with bench/make_pcap.py, builds wirelab in
# release mode, then lets hyperfine time
#
#   tcpdump -n -r FILE                       (one line a packet, no name lookups)
#   wirelab --color never dissect FILE       (the summary view, one line a packet)
#
# both writing to /dev/null, and prints the medians and the ratio wirelab / tcpdump (below 1
# means wirelab is faster). Both wall-clock and CPU time (user + system) are reported: on a
# shared machine the wall clock also measures the neighbours, CPU time less so.
set -eu
cd "$(dirname "$0")/.."
N="${1:-1000000}"
PCAP="target/bench/summary-$N.pcap"
mkdir -p target/bench
[ -f "$PCAP" ] || python3 bench/make_pcap.py "$PCAP" "$N"
cargo build --release --quiet
JSON="target/bench/summary-$N.json"
hyperfine -N --warmup 1 --runs "${RUNS:-7}" --output=null --export-json "$JSON" \
    -n tcpdump "tcpdump -n -r $PCAP" \
    -n wirelab "target/release/wirelab --color never dissect $PCAP"
python3 - "$JSON" "$N" <<'EOF'
import json, statistics, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
def med(r, key):
    if key == "cpu":
        # hyperfine reports CPU time as a mean over the runs.
        return r["user"] + r["system"]
    return statistics.median(r["times"])
t, w = runs["tcpdump"], runs["wirelab"]
print(f"packets: {int(sys.argv[2]):,}")
for key, label in (("wall", "wall (median)"), ("cpu", "CPU (mean)")):
    a, b = med(t, key), med(w, key)
    print(f"{label:15} tcpdump {a:7.3f} s   wirelab {b:7.3f} s   ratio wirelab/tcpdump {b / a:.2f}")
EOF
