#!/usr/bin/env bash
# Check that a change left the views' output byte-for-byte as it was: for every capture of the
# corpus (tests/corpus/pcaps) and every lesson's trace, run the JSON view, the layer tree (at
# the default width and at COLUMNS=40 and 200, colour on and off), the summary and --stats with
# a binary built before the change and with the current one, and compare standard output,
# standard error and the exit status.
#
# Usage: bench/identical.sh BEFORE-BINARY [AFTER-BINARY]
#   e.g. git stash; cargo build --release; cp target/release/wirelab /tmp/wirelab-before;
#        git stash pop; cargo build --release; bench/identical.sh /tmp/wirelab-before
set -uo pipefail
cd "$(dirname "$0")/.."
BEFORE=${1:?usage: bench/identical.sh BEFORE-BINARY [AFTER-BINARY]}
AFTER=${2:-target/release/wirelab}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT


same=0 differ=0
for cap in tests/corpus/pcaps/* lessons/*/trace.pcapng; do
  [ -f "$cap" ] || continue
  while IFS= read -r args; do
    # shellcheck disable=SC2086
    env_cols=${args%%|*} view=${args#*|}
    for side in before after; do
      bin=$BEFORE
      [ $side = after ] && bin=$AFTER
      # shellcheck disable=SC2086
      env $env_cols "$bin" dissect "$cap" $view >"$TMP/$side.out" 2>"$TMP/$side.err"
      echo $? >"$TMP/$side.rc"
      sed -i "s|$(basename "$bin")|wirelab|g" "$TMP/$side.err"
    done
    if cmp -s "$TMP/before.out" "$TMP/after.out" && cmp -s "$TMP/before.err" "$TMP/after.err" \
      && cmp -s "$TMP/before.rc" "$TMP/after.rc"; then
      same=$((same + 1))
    else
      differ=$((differ + 1))
      echo "DIFFERS: $env_cols dissect $cap $view"
      diff <(cat "$TMP/before.out" "$TMP/before.err" "$TMP/before.rc") \
        <(cat "$TMP/after.out" "$TMP/after.err" "$TMP/after.rc") | head -5
    fi
  done <<'RUNS'
COLUMNS=100|--view json --color never
COLUMNS=100|--view layers --color never
COLUMNS=40|--view layers --color never
COLUMNS=200|--view layers --color always
COLUMNS=100|--view layers --color never --field tcp.port
COLUMNS=100|--view summary --color never
COLUMNS=100|--view summary --color always
COLUMNS=100|--stats --color never
RUNS
done
echo "identical: $same runs the same, $differ different"
[ "$differ" -eq 0 ]
