#!/bin/sh
# Record real TLS handshakes: OpenSSL's s_server and s_client with SNI (-servername) and ALPN,
# once with TLS 1.3 and once with TLS 1.2, on the loopback interface of a network namespace
# this script makes for itself (`unshare -Urn`, no root needed), so nothing else is on the
# wire and no packet leaves it. dumpcap (Wireshark's capture program) records both.
#
#   tests/captures/tls/make.sh OUTDIR      writes OUTDIR/openssl-tls13.pcap, openssl-tls12.pcap
#
# Used by tests/tls_live.rs (which compares fresh captures with tshark) and to make the
# captures committed next to this script.
set -eu
out=$(realpath -m "$1")
if [ "${WIRELAB_IN_NS:-}" != 1 ]; then
    WIRELAB_IN_NS=1 exec timeout 60 unshare -Urn "$0" "$out"
fi
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ip link set lo up
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj /CN=example.test -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
for v in 1_3 1_2; do
    name=$(echo "$v" | tr -d _)
    dumpcap -q -i lo -a duration:20 -f "tcp port 4433" -P -w "$out/openssl-tls$name.pcap" 2>"$work/dumpcap" &
    cap=$!
    sleep 1
    openssl s_server -quiet -naccept 1 -accept 127.0.0.1:4433 -cert "$work/cert.pem" \
        -key "$work/key.pem" -tls$v -alpn h2,http/1.1 >"$work/server" 2>&1 &
    srv=$!
    sleep 1
    printf 'hello over TLS\n' | timeout 10 openssl s_client -connect 127.0.0.1:4433 \
        -servername example.test -tls$v -alpn h2 -quiet >"$work/client" 2>&1 || true
    sleep 1
    kill $srv 2>/dev/null || true
    wait $srv 2>/dev/null || true
    kill -INT $cap
    wait $cap || true
done
