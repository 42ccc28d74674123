#!/usr/bin/env python3
"""The peers of bench/link.sh, run inside the lab's namespaces (no one here wrote python's
socket module; this file only uses it):

  link_peer.py serve ADDR PORT      accept one TCP connection, read it to the end, print JSON:
                                    bytes, seconds, and the goodput over the second half of
                                    the bytes (after slow start)
  link_peer.py send ADDR PORT BYTES connect and send BYTES bytes, then close
  link_peer.py ping FILE            read `busybox ping` output, print JSON: RTTs without the
                                    first (which pays for ARP)

Every wait has a deadline (30 s); nothing is sent anywhere but the address given, which the
bench takes from the lab (203.0.113.2, inside wirelab's namespaces).
"""
import json
import re
import socket
import statistics
import sys
import time


def serve(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(30)
    c, _ = s.accept()
    c.settimeout(30)
    marks = []
    total = 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        total += len(b)
        marks.append((time.monotonic(), total))
    c.close()
    if len(marks) < 2:
        print(json.dumps({"bytes": total}))
        return
    half = total / 2
    t_half, n_half = next((t, n) for t, n in marks if n >= half)
    t_end = marks[-1][0]
    print(json.dumps({
        "bytes": total,
        "seconds": t_end - marks[0][0],
        "goodput_bps": (total - n_half) * 8 / max(t_end - t_half, 1e-9),
    }))


def send(addr, port, nbytes):
    c = socket.create_connection((addr, port), timeout=30)
    chunk = b"x" * 65536
    left = nbytes
    while left > 0:
        n = c.send(chunk[:min(left, len(chunk))])
        left -= n
    c.shutdown(socket.SHUT_WR)
    c.recv(1)  # wait for the server's close: every byte delivered
    c.close()


def ping(path):
    rtts = [float(m) for m in re.findall(r"time=([0-9.]+) ms", open(path).read())]
    rtts = rtts[1:]
    out = {"count": len(rtts)}
    if rtts:
        out.update(min=min(rtts), median=statistics.median(rtts), max=max(rtts))
    print(json.dumps(out))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif cmd == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "ping":
        ping(sys.argv[2])
    else:
        sys.exit(f"unknown command {cmd}")
