#!/usr/bin/env bash
# Benchmark: wirelab dissect --view summary against tcpdump -nr and tshark -r on the same
# capture of at least one million packets, all writing to /dev/null, in one run; then wirelab's
# peak memory on a capture of about 1 GB (it streams, so memory should stay flat).
#
# Usage: bench/dissect.sh [PACKETS] [RUNS]
# Needs: hyperfine, tcpdump, tshark (apt-get install hyperfine tcpdump tshark), and real frames
# to repeat: the corpus of real captures in tests/corpus (or $WIRELAB_CORPUS).
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS=${1:-1000000}
RUNS=${2:-5}
OUT=target/bench
mkdir -p "$OUT"

cargo build --release --quiet
WL=$PWD/target/release/wirelab

SRC=${WIRELAB_CORPUS:-tests/corpus}/pcaps
[ -d "$SRC" ] || SRC=lessons
CAP=$OUT/dissect-$PACKETS.pcap
if [ ! -f "$CAP" ]; then
  "$WL" make-capture --from "$SRC" --packets "$PACKETS" -w "$CAP"
fi
echo "capture: $CAP ($(stat -c %s "$CAP") bytes, $PACKETS packets, frames from $SRC)"

# Warm the page cache so every tool reads from memory.
cat "$CAP" > /dev/null

hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$OUT/dissect.json" \
  -n wirelab "$WL dissect $CAP --view summary --color never" \
  -n tcpdump "tcpdump -nr $CAP" \
  >/dev/null 2>&1 || true
# tshark is much slower: fewer runs, same input.
hyperfine --style basic --runs "$(( RUNS < 3 ? RUNS : 3 ))" --export-json "$OUT/dissect-tshark.json" \
  -n tshark "tshark -n -r $CAP" \
  >/dev/null 2>&1 || true

python3 - "$OUT/dissect.json" "$OUT/dissect-tshark.json" <<'PY'
import json, sys, statistics
res = {}
for path in sys.argv[1:]:
    for r in json.load(open(path))["results"]:
        res[r["command"]] = r
def med(name): return statistics.median(res[name]["times"])
w, t, s = med("wirelab"), med("tcpdump"), med("tshark")
print(f"median seconds: wirelab {w:.3f}  tcpdump {t:.3f}  tshark {s:.3f}")
print(f"wirelab/tcpdump = {w/t:.2f}   (goal <= 0.5)")
print(f"wirelab/tshark  = {w/s:.3f}  (goal <= 0.1)")
PY

# Memory on a ~1 GB capture.
BIG=$OUT/dissect-1GB.pcap
if [ ! -f "$BIG" ]; then
  "$WL" make-capture --from "$SRC" --packets 1 --min-bytes 1000000000 -w "$BIG"
fi
/usr/bin/time -f "%M" -o "$OUT/rss.txt" "$WL" dissect "$BIG" --view summary --color never > /dev/null
echo "peak memory on $(( $(stat -c %s "$BIG") / 1000000 )) MB: $(( $(cat "$OUT/rss.txt") / 1024 )) MiB (goal < 64 MB)"
