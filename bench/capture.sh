#!/bin/sh
# Capture benchmark: wirelab and tcpdump each capture the same bounded UDP flood on the
# loopback interface while writing a file, one after the other, and report how many packets
# each captured and how many the kernel dropped.
#
#   sh bench/capture.sh [RATE] [SECONDS]        (default: 200000 datagrams/s for 10 s)
#
# Needs CAP_NET_RAW (run as root, or setcap both binaries) and tcpdump. The flood goes to
# 127.0.0.1 only, stops by itself, and is sent by `wirelab flood` (a hidden subcommand).
set -eu
cd "$(dirname "$0")/.."
RATE=${1:-200000}
SECS=${2:-10}
PORT=${PORT:-47999}
cargo build --release --quiet
W=target/release/wirelab
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

run() { # name, capture command...; the command is stopped with SIGINT after the flood
    name=$1; shift
    "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" &
    pid=$!
    sleep 1
    "$W" flood --rate "$RATE" --seconds "$SECS" --port "$PORT" 2>"$OUT/$name.flood"
    sleep 1
    kill -INT "$pid"
    wait "$pid" || true
}

run wirelab "$W" capture -i lo -q -w "$OUT/wirelab.pcap" --buffer 32
run pnet "$W" capture -i lo -q -w "$OUT/pnet.pcap" --buffer 32 --reader pnet
run tcpdump tcpdump -i lo -n -B 32768 -w "$OUT/tcpdump.pcap" udp port "$PORT"

sent() { sed -n 's/^wirelab flood: \([0-9]*\) datagrams.*/\1/p' "$OUT/$1.flood"; }
capt() { sed -n 's/^wirelab: \([0-9]*\) packets\{0,1\} captured.*/\1/p' "$OUT/$1.err"; }
drop() { sed -n 's/.*, \([0-9]*\) dropped by the kernel/\1/p' "$OUT/$1.err"; }
mine() { tcpdump -r "$OUT/$1.pcap" -n "udp port $PORT" 2>/dev/null | wc -l; }
t_capt=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured/\1/p' "$OUT/tcpdump.err")
t_drop=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel/\1/p' "$OUT/tcpdump.err")
t_mine=$(tcpdump -r "$OUT/tcpdump.pcap" -n "udp port $PORT" 2>/dev/null | wc -l)

echo "loopback UDP flood: $RATE datagrams/s for $SECS s, each tool writing a pcap file"
printf '%-10s %12s %12s %18s %14s\n' tool sent captured "flood in the file" "kernel drops"
printf '%-10s %12s %12s %18s %14s\n' wirelab "$(sent wirelab)" "$(capt wirelab)" "$(mine wirelab)" "$(drop wirelab)"
printf '%-10s %12s %12s %18s %14s\n' "(pnet)" "$(sent pnet)" "$(capt pnet)" "$(mine pnet)" "$(drop pnet)"
printf '%-10s %12s %12s %18s %14s\n' tcpdump "$(sent tcpdump)" "$t_capt" "$t_mine" "$t_drop"
echo "(wirelab captures everything on lo; tcpdump only the flood's port, via its BPF filter."
echo " wirelab = the default recvmmsg reader; (pnet) = --reader pnet, pnet_datalink's receiver.)"
uptime
