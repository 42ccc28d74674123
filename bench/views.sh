#!/usr/bin/env bash
# Benchmark: wirelab's detailed views and summary against Wireshark's and tcpdump's on the same
# capture, all writing to /dev/null, in one run (issue 15):
#   dissect --view json    against  tshark -T json
#   dissect --view layers  against  tshark -V
#   dissect --view summary against  tshark -n -r  and  tcpdump -nr
# The capture is mixed from the real captures of tests/corpus/pcaps (their frames repeated in
# turn up to PACKETS), made once with `wirelab make-capture`.
#
# Usage: bench/views.sh [PACKETS] [RUNS]        (defaults: 100000 frames, 3 runs, medians)
#   WIRELAB_BEFORE=/tmp/wirelab-before bench/views.sh   also times an older binary in the same
#   run, for a before/after comparison.
# Needs: hyperfine, tshark, tcpdump.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS=${1:-100000}
RUNS=${2:-3}
OUT=target/bench
mkdir -p "$OUT"

nice -n 10 cargo build --release --quiet
WL=$PWD/target/release/wirelab
BEFORE=${WIRELAB_BEFORE:-}

SRC=${WIRELAB_CORPUS:-tests/corpus}/pcaps
CAP=$OUT/views-$PACKETS.pcap
if [ ! -f "$CAP" ]; then
  "$WL" make-capture --from "$SRC" --packets "$PACKETS" -w "$CAP" >/dev/null
fi
echo "capture: $CAP ($(stat -c %s "$CAP") bytes, $PACKETS frames mixed from $SRC)"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$CAP" >/dev/null # from the page cache for every tool

# VIEW NAME PEER-NAME PEER-COMMAND...
bench() {
  local view=$1 name=$2 peer=$3 json=$OUT/views-$2.json
  local cmds=(-n wirelab "$WL dissect $CAP $view --color never")
  [ -n "$BEFORE" ] && cmds+=(-n before "$BEFORE dissect $CAP $view --color never")
  cmds+=(-n "$name" "$peer")
  hyperfine --style none --runs "$RUNS" --export-json "$json" "${cmds[@]}" >/dev/null 2>&1
}
bench "--view json" tshark-json "tshark -n -r $CAP -T json"
bench "--view layers" tshark-V "tshark -n -r $CAP -V"
bench "--view summary" tshark "tshark -n -r $CAP"
hyperfine --style none --runs "$RUNS" --export-json "$OUT/views-tcpdump.json" \
  -n wirelab "$WL dissect $CAP --view summary --color never" \
  ${BEFORE:+-n before "$BEFORE dissect $CAP --view summary --color never"} \
  -n tcpdump "tcpdump -nr $CAP" >/dev/null 2>&1

python3 - "$OUT" <<'PY'
import json, sys, statistics
out = sys.argv[1]
def load(name):
    return {r["command"]: statistics.median(r["times"]) for r in json.load(open(f"{out}/views-{name}.json"))["results"]}
rows = [("--view json", "tshark-json", "tshark -T json", 0.5),
        ("--view layers", "tshark-V", "tshark -V", 0.5),
        ("summary", "tshark", "tshark -n -r", 0.1),
        ("summary", "tcpdump", "tcpdump -nr", 0.5)]
print(f"{'view':15} {'wirelab s':>10} {'before s':>10} {'peer s':>8}  ratio (before)  goal")
for view, name, peer, goal in rows:
    r = load(name)
    w, p, b = r["wirelab"], r[name], r.get("before")
    before = f"{b:10.3f}" if b else f"{'':10}"
    was = f" ({b/p:.3f})" if b else ""
    print(f"{view:15} {w:10.3f} {before} {p:8.3f}  {w/p:.3f}{was} × {peer}  <= {goal}")
PY
