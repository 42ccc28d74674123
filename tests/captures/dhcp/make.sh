#!/bin/sh
# Record a real DHCP exchange: Debian's dnsmasq as the server, busybox udhcpc as the client,
# on a veth pair inside a network namespace this script makes for itself (`unshare -Urn`, no
# root needed). Every packet stays inside that namespace; its 10.47.0.0/24 addresses exist
# nowhere else. dumpcap (Wireshark's capture program) records the server's side.
#
#   tests/captures/dhcp/make.sh OUT.pcap
#
# Used by tests/dhcp_live.rs (which compares the fresh capture with tshark) and to make
# tests/captures/dhcp/dnsmasq-udhcpc.pcap.
set -eu
# Checksum offload off (what `ethtool -K IFACE tx off` does, through the SIOCETHTOOL ioctl), so
# the kernel fills in every checksum before the capture sees the packet, as a real card would.
csum_off() {
    python3 -c 'import ctypes, fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for name in sys.argv[1:]:
    value = ctypes.create_string_buffer(struct.pack("II", 0x17, 0))  # ETHTOOL_STXCSUM, off
    fcntl.ioctl(s, 0x8946, struct.pack("16sP", name.encode(), ctypes.addressof(value)))' "$@" \
        || echo "checksum offload stays on: the capture will show unfinished checksums" >&2
}
out=$(realpath -m "$1")
if [ "${WIRELAB_IN_NS:-}" != 1 ]; then
    WIRELAB_IN_NS=1 exec timeout 60 unshare -Urn "$0" "$out"
fi
logs=$(mktemp -d)
trap 'kill $dns 2>/dev/null || true; rm -rf "$logs"' EXIT
ip link set lo up
ip link add srv0 address 02:00:00:00:00:01 type veth peer name cli0 address 02:00:00:00:00:02
ip addr add 10.47.0.1/24 dev srv0
ip link set srv0 up
ip link set cli0 up
csum_off srv0 cli0
dumpcap -q -i srv0 -a duration:30 -f "udp port 67 or udp port 68" -P -w "$out" 2>"$logs/dumpcap" &
cap=$!
dnsmasq -d -u root --conf-file=/dev/null --port=0 --pid-file= --interface=srv0 --bind-interfaces \
    --dhcp-range=10.47.0.50,10.47.0.60,255.255.255.0,1h \
    --dhcp-option=option:router,10.47.0.1 --dhcp-option=option:dns-server,10.47.0.1 \
    --no-ping --dhcp-leasefile="$logs/leases" 2>"$logs/dnsmasq" &
dns=$!
sleep 1
# -s /bin/true: udhcpc does not configure the address it gets (the capture is the point).
busybox udhcpc -i cli0 -f -q -n -t 5 -T 2 -s /bin/true -x hostname:wirelab-client 2>"$logs/udhcpc"
sleep 1
kill -INT $cap
wait $cap || true
