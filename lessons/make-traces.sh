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
mkdir -p lessons/01_packets lessons/02_sockets lessons/03_tcp lessons/04_udp lessons/05_capture \
  lessons/06_tcp_by_hand lessons/07_websocket lessons/08_socketio lessons/09_socketio_scale \
  lessons/10_ip/mtu lessons/11_congestion
"$W" tour --write-trace lessons/01_packets/trace.pcapng
"$W" tcp echo --net lab --color never -m 'hello, socket' -w lessons/02_sockets/trace.pcapng >/dev/null
"$W" tcp echo --net lab --color never -m 'hello, lab\n' -m 'TCP numbers every byte\n' -m 'bye\n' -w lessons/03_tcp/trace.pcapng >/dev/null
"$W" udp echo --net lab --color never -w lessons/04_udp/trace.pcapng >/dev/null
"$W" udp echo --net lab --color never --loss 30% --reorder -w lessons/05_capture/trace.pcapng >/dev/null
"$W" tcp handshake --raw --color never -w lessons/06_tcp_by_hand/trace.pcapng >/dev/null
"$W" ws echo --net lab --color never -w lessons/07_websocket/trace.pcapng >/dev/null
"$W" sio demo --net lab --color never --no-wire -w lessons/08_socketio/trace.pcapng >/dev/null
# The network layer across the lab's routers: traceroute (3 routers), then the MTU demo.
"$W" ip traceroute --net lab --color never -w lessons/10_ip/trace.pcapng >/dev/null
"$W" ip mtu --net lab --color never -w lessons/10_ip/mtu/trace.pcapng >/dev/null
# A reno transfer over a slow link that loses the 20th data segment once (a small file: 100 kB).
"$W" tcp transfer --net lab --color never --cc reno --bytes 100000 \
  --link rate=10mbit,delay=20ms,drop=20 -w lessons/11_congestion/trace.pcapng >/dev/null
# Two servers sharing rooms through Redis (a redis-server of version 7 or later must be
# installed; wirelab starts it on 127.0.0.1 of the lab's client host and stops it afterwards).
"$W" sio demo --net lab --servers 2 --color never --no-wire -w lessons/09_socketio_scale/trace.pcapng >/dev/null

# The reference answers to the trace questions depend on the traces: work them out again.
for dir in lessons/[0-9]*/; do
  l=$(basename "$dir")
  grep -q '^\[\[questions\]\]' "$dir/lesson.toml" || continue
  {
    echo "# Reference answers for the bundled trace, worked out by \`wirelab check $l --answer-key\`."
    echo "# The project's tests check that these pass and blank answers fail; if the trace is"
    echo "# recorded again (lessons/make-traces.sh), regenerate this file the same way."
    "$W" check "$l" --answer-key | grep -v '^#' | grep .
  } > "$dir/solutions/answers.toml"
done
