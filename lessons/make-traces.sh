#!/bin/sh
# Regenerate the lessons' recorded traces: each is the capture of the lesson's demo, run in
# the lab (no root needed). The demos fall back to replaying these files where neither the
# lab nor live capture is available.
#
#   sh lessons/make-traces.sh [path/to/wirelab]
set -eu
cd "$(dirname "$0")/.."
W=${1:-target/debug/wirelab}
[ -x "$W" ] || cargo build --quiet
mkdir -p lessons/02_sockets lessons/03_tcp lessons/04_udp
"$W" tcp echo --net lab --color never -m 'hello, socket' -w lessons/02_sockets/trace.pcapng >/dev/null
"$W" tcp echo --net lab --color never -m 'hello, lab\n' -m 'TCP numbers every byte\n' -m 'bye\n' -w lessons/03_tcp/trace.pcapng >/dev/null
"$W" udp echo --net lab --color never -w lessons/04_udp/trace.pcapng >/dev/null
