#!/usr/bin/env python3
"""Write a pcap of many TCP connections for benchmarking wirelab's stream analysis.

Each connection: handshake, a request, a response of several segments (one of them lost
and retransmitted after three duplicate ACKs, every tenth connection), and a FIN teardown.
Only the standard library; the addresses are documentation/private ranges and nothing is
sent anywhere: the packets are only written to the file.

usage: make_tcp_capture.py OUT.pcap [CONNECTIONS]
"""
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, win, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, win, 0, 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    c = csum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00"
    return eth + ip + tcp


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    S, A, P, F = 0x02, 0x10, 0x08, 0x01
    t = 1_700_000_000.0
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))

        def put(pkt):
            nonlocal t
            t += 0.0001
            sec = int(t)
            usec = int(round((t - sec) * 1e6)) % 1000000
            f.write(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)))
            f.write(pkt)

        for i in range(n):
            cli = bytes([10, 1, (i >> 8) & 0xFF, i & 0xFF])
            srv = bytes([10, 2, 0, 1])
            cp, sp = 20000 + i % 40000, 80
            c, s = (i * 7919) & 0xFFFFFFFF, (i * 104729) & 0xFFFFFFFF
            put(frame(cli, srv, cp, sp, c, 0, S, 64240))
            put(frame(srv, cli, sp, cp, s, c + 1, S | A, 65160))
            put(frame(cli, srv, cp, sp, c + 1, s + 1, A, 502))
            req = b"GET /item/%d HTTP/1.1\r\nHost: bench\r\n\r\n" % i
            put(frame(cli, srv, cp, sp, c + 1, s + 1, P | A, 502, req))
            c2 = c + 1 + len(req)
            body = [bytes([65 + k]) * 1000 for k in range(6)]
            lose = i % 10 == 0
            off = s + 1
            for k, seg in enumerate(body):
                if not (lose and k == 2):
                    put(frame(srv, cli, sp, cp, off, c2, A, 509, seg))
                off += len(seg)
            if lose:
                lost_at = s + 1 + 2000
                for _ in range(3):
                    put(frame(cli, srv, cp, sp, c2, lost_at, A, 502))
                put(frame(srv, cli, sp, cp, lost_at, c2, A, 509, body[2]))
            put(frame(cli, srv, cp, sp, c2, off, A, 502))
            put(frame(cli, srv, cp, sp, c2, off, F | A, 502))
            put(frame(srv, cli, sp, cp, off, c2 + 1, F | A, 509))
            put(frame(cli, srv, cp, sp, c2 + 1, off + 1, A, 502))


main()
