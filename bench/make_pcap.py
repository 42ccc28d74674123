#!/usr/bin/env python3
"""Write a pcap of N synthetic Ethernet frames for benchmarks (default 1,000,000).

The mix imitates ordinary traffic on a small lab network: TCP connections (handshake with
options, data both ways, ACKs, FIN), DNS queries and answers over UDP, and ICMP echo. Every
checksum is correct, so a dissector does all of its usual work (checksum verification
included) and reports no problems. Addresses are private (10.0.0.0/8) and nothing is sent
anywhere: the frames only exist in the file.

    python3 bench/make_pcap.py OUT.pcap [N]
"""

import struct
import sys


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def transport_csum(src: bytes, dst: bytes, proto: int, seg: bytes) -> int:
    pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
    return csum(pseudo + seg)


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", options=b""):
    off = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off << 4, flags, 64240, 0, 0) + options
    seg = hdr + payload
    c = transport_csum(src, dst, 6, seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = transport_csum(src, dst, 17, seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp_echo(ident, seq, reply=False):
    body = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + bytes(range(32))
    return body[:2] + struct.pack("!H", csum(body)) + body[4:]


def eth(src_mac, dst_mac, payload):
    frame = dst_mac + src_mac + b"\x08\x00" + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def dns_query(qid, name):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    mac_c = bytes.fromhex("020000000001")
    mac_s = bytes.fromhex("020000000002")
    frames = []
    ident = 0
    i = 0
    while len(frames) < n:
        # A lab-sized network: 50 clients, 7 servers, client ports reused after 5000
        # connections (tcpdump keeps per-connection state, so millions of distinct
        # connections would measure its hash tables instead of its printing).
        c = bytes([10, 0, 0, 1 + i % 50])
        s = bytes([10, 1, 0, 1 + i % 7])
        sport = 32768 + i % 5000
        seq_c, seq_s = 1000 * i, 5000 * i
        opts = bytes.fromhex("020405b40402080a") + struct.pack("!II", i, 0) + bytes.fromhex("01030307")
        msgs = [
            (c, s, tcp(c, s, sport, 80, seq_c, 0, 0x02, options=opts), 6),
            (s, c, tcp(s, c, 80, sport, seq_s, seq_c + 1, 0x12, options=opts), 6),
            (c, s, tcp(c, s, sport, 80, seq_c + 1, seq_s + 1, 0x10), 6),
            (c, s, tcp(c, s, sport, 80, seq_c + 1, seq_s + 1, 0x18, b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n"), 6),
            (s, c, tcp(s, c, 80, sport, seq_s + 1, seq_c + 30, 0x18, b"HTTP/1.1 200 OK\r\n" + b"x" * 400), 6),
            (c, s, tcp(c, s, sport, 80, seq_c + 30, seq_s + 418, 0x10), 6),
            (c, s, udp(c, s, sport, 53, dns_query(i & 0xFFFF, "www.example.com")), 17),
            (s, c, udp(s, c, 53, sport, dns_query(i & 0xFFFF, "www.example.com")), 17),
            (c, s, icmp_echo(i & 0xFFFF, 1), 1),
            (s, c, icmp_echo(i & 0xFFFF, 1, reply=True), 1),
            (c, s, tcp(c, s, sport, 80, seq_c + 30, seq_s + 418, 0x11), 6),
            (s, c, tcp(s, c, 80, sport, seq_s + 418, seq_c + 31, 0x11), 6),
        ]
        for src, dst, payload, proto in msgs:
            ident += 1
            macs = (mac_c, mac_s) if src == c else (mac_s, mac_c)
            frames.append(eth(macs[0], macs[1], ipv4(src, dst, proto, payload, ident)))
            if len(frames) == n:
                break
        i += 1
    with open(out, "wb") as f:
        # Classic pcap, microsecond timestamps, Ethernet.
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        t = 1_700_000_000
        for k, fr in enumerate(frames):
            us = k * 37
            f.write(struct.pack("<IIII", t + us // 1_000_000, us % 1_000_000, len(fr), len(fr)))
            f.write(fr)


if __name__ == "__main__":
    main()
