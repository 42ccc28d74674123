#!/usr/bin/env bash
# Benchmark: the one-line summary and --stats against tcpdump and tshark, each in ONE hyperfine
# run with its peers (and an older wirelab, if given), so the ratios are fair on a shared
# machine (issue 15). All output goes to /dev/null; the page cache is warmed first.
#
#   summary  `wirelab dissect F --view summary --color never`  vs  `tcpdump -nr F`, `tshark -n -r F`
#            on bench/dissect.sh's capture (PACKETS frames repeated from the corpus) and on a
#            capture mixed from the real captures of tests/corpus/pcaps (MIX frames)
#   stats    `wirelab dissect F --stats --color never`  vs  `tshark -q -z conv,tcp -r F`
#            on bench/make_tcp_capture.py's CONNECTIONS connections and on the mixed capture
#
# Usage: bench/lean.sh [PACKETS] [MIX] [CONNECTIONS] [RUNS]   (defaults 1000000 500000 20000 5)
#   WIRELAB_BEFORE=/tmp/wirelab-main bench/lean.sh   also times an older binary in each run.
# Needs: hyperfine, tcpdump, tshark, python3. Nothing is sent on any network.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS=${1:-1000000}
MIX=${2:-500000}
CONNS=${3:-20000}
RUNS=${4:-5}
OUT=target/bench
mkdir -p "$OUT"

nice -n 10 cargo build --release --quiet
WL=$PWD/target/release/wirelab
BEFORE=${WIRELAB_BEFORE:-}

SRC=${WIRELAB_CORPUS:-tests/corpus}/pcaps
CAP=$OUT/dissect-$PACKETS.pcap
[ -f "$CAP" ] || "$WL" make-capture --from "$SRC" --packets "$PACKETS" -w "$CAP" >/dev/null
MIXCAP=$OUT/mix-$MIX.pcap
[ -f "$MIXCAP" ] || "$WL" make-capture --from tests/corpus/pcaps --packets "$MIX" -w "$MIXCAP" >/dev/null
TCP=$OUT/tcp-$CONNS.pcap
[ -f "$TCP" ] || python3 bench/make_tcp_capture.py "$TCP" "$CONNS"
cat "$CAP" "$MIXCAP" "$TCP" >/dev/null

# NAME WIRELAB-ARGS FILE PEER-NAME PEER-COMMAND [PEER-NAME PEER-COMMAND]
bench() {
  local name=$1 args=$2 file=$3
  shift 3
  local cmds=(-n wirelab "$WL dissect $file $args --color never")
  [ -n "$BEFORE" ] && cmds+=(-n before "$BEFORE dissect $file $args --color never")
  while [ $# -gt 0 ]; do
    cmds+=(-n "$1" "$2")
    shift 2
  done
  echo "== $name: load average $(cut -d' ' -f1-3 /proc/loadavg)"
  hyperfine -N --style none --warmup 1 --runs "$RUNS" --export-json "$OUT/lean-$name.json" \
    "${cmds[@]}" >/dev/null 2>&1
}
bench summary-dissect "--view summary" "$CAP" tcpdump "tcpdump -nr $CAP" tshark "tshark -n -r $CAP"
bench summary-mix "--view summary" "$MIXCAP" tcpdump "tcpdump -nr $MIXCAP" tshark "tshark -n -r $MIXCAP"
bench stats-tcp "--stats" "$TCP" tshark "tshark -q -z conv,tcp -r $TCP"
bench stats-mix "--stats" "$MIXCAP" tshark "tshark -q -z conv,tcp -r $MIXCAP"
echo "== done: load average $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$OUT" <<'PY'
import json, statistics, sys
out = sys.argv[1]
goals = {"tcpdump": 0.5, "tshark": 0.1}
for name in ["summary-dissect", "summary-mix", "stats-tcp", "stats-mix"]:
    res = {r["command"]: r for r in json.load(open(f"{out}/lean-{name}.json"))["results"]}
    med = lambda c: statistics.median(res[c]["times"])
    cpu = lambda c: res[c]["user"] + res[c]["system"]  # hyperfine gives their means
    line = [f"{name:16}"] + [f"{c} {med(c):.3f} s (cpu {cpu(c):.3f})" for c in res]
    print("  ".join(line))
    w = med("wirelab")
    for c in res:
        if c == "wirelab":
            continue
        goal = None if c == "before" else 0.25 if name.startswith("stats") else goals.get(c)
        g = f"  (goal <= {goal})" if goal else ""
        print(f"{'':16}  wirelab / {c} = {w / med(c):.3f}{g}")
PY
