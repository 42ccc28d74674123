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
# The detailed views draw on a second core when there is one (src/render/thread.rs); the
# "1 core" rows run the same binary under `taskset -c 0`, where it finds one core and stays on
# one thread, to show how it scales. CPU is user+sys (hyperfine's mean), wall the median.
# Needs: hyperfine, tshark, tcpdump, taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS=${1:-100000}
RUNS=${2:-3}
OUT=target/bench
mkdir -p "$OUT"

nice -n 10 cargo build --release --quiet
WL=$(realpath "${CARGO_TARGET_DIR:-target}")/release/wirelab
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
  [ "$view" != "--view summary" ] && cmds+=(-n wirelab-1core "taskset -c 0 $WL dissect $CAP $view --color never")
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

# The same text as the older binary, on this capture too (bench/identical.sh compares the
# corpus's small files, which never reach the threads' START_AFTER).
if [ -n "$BEFORE" ]; then
  for view in json layers hex; do
    if cmp -s <("$WL" dissect "$CAP" --view $view --color never 2>&1) \
              <("$BEFORE" dissect "$CAP" --view $view --color never 2>&1); then
      echo "--view $view: output identical to $BEFORE"
    else
      echo "--view $view: OUTPUT DIFFERS from $BEFORE"
    fi
  done
fi

python3 - "$OUT" <<'PY'
import json, sys, statistics
out = sys.argv[1]
def load(name):
    res = json.load(open(f"{out}/views-{name}.json"))["results"]
    return {r["command"]: (statistics.median(r["times"]), r["user"] + r["system"]) for r in res}
rows = [("--view json", "tshark-json", "tshark -T json", 0.5),
        ("--view layers", "tshark-V", "tshark -V", 0.5),
        ("summary", "tshark", "tshark -n -r", 0.1),
        ("summary", "tcpdump", "tcpdump -nr", 0.5)]
print("wall: median seconds; cpu: user+sys seconds (mean); ratio: wall / peer's wall")
print(f"{'view':14} {'binary':14} {'wall':>7} {'cpu':>7}  {'ratio':>6}  peer")
for view, name, peer, goal in rows:
    r = load(name)
    p, pc = r[name]
    for who in ("wirelab", "wirelab-1core", "before"):
        if who in r:
            w, c = r[who]
            print(f"{view:14} {who:14} {w:7.3f} {c:7.3f}  {w/p:6.3f}  {peer} {p:.3f} s wall, {pc:.3f} s cpu (goal <= {goal})")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
