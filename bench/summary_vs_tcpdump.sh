#!/bin/sh
# The summary view against tcpdump on the same capture, in one run.
#
#   bench/summary_vs_tcpdump.sh [PACKETS]      (default 1000000; ROUNDS=9 by default)
#
# Makes (once) a capture of synthetic lab traffic with bench/make_pcap.py, builds wirelab in
# release mode, then times, alternately, ROUNDS times each (after one warm-up of each):
#
#   tcpdump -n -r FILE                       (one line a packet, no name lookups)
#   wirelab --color never dissect FILE       (the summary view, one line a packet)
#
# both writing to /dev/null. Alternating the two means a busy neighbour on a shared machine
# slows both alike. It prints the median wall-clock time and the median CPU time (user +
# system) of each, and the ratios wirelab / tcpdump (below 1 means wirelab is faster).
set -eu
cd "$(dirname "$0")/.."
N="${1:-1000000}"
PCAP="target/bench/summary-$N.pcap"
mkdir -p target/bench
[ -f "$PCAP" ] || python3 bench/make_pcap.py "$PCAP" "$N"
cargo build --release --quiet
python3 - "$PCAP" "$N" "${ROUNDS:-9}" <<'EOF'
import os, resource, statistics, subprocess, sys, time

pcap, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
commands = {
    "tcpdump": ["tcpdump", "-n", "-r", pcap],
    "wirelab": ["target/release/wirelab", "--color", "never", "dissect", pcap],
}

def run(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        subprocess.run(cmd, stdout=null, stderr=null, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu

for cmd in commands.values():
    run(cmd)  # warm-up: the file is in the page cache for both
times = {name: [] for name in commands}
for _ in range(rounds):
    for name, cmd in commands.items():
        times[name].append(run(cmd))

print(f"packets: {n:,}   rounds: {rounds}   commands:")
for name, cmd in commands.items():
    print(f"  {name}: {' '.join(cmd)} > /dev/null")
med = {name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
       for name, t in times.items()}
for i, label in ((0, "wall (median)"), (1, "CPU  (median)")):
    a, b = med["tcpdump"][i], med["wirelab"][i]
    print(f"{label}  tcpdump {a:7.3f} s   wirelab {b:7.3f} s   ratio wirelab/tcpdump {b / a:.2f}")
EOF
