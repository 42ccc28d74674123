#!/usr/bin/env python3
"""Seed the fuzzers' working corpora from the capture corpus in tests/corpus (nothing is committed).

    python3 fuzz/seed_corpus.py [tests/corpus]

* fuzz/corpus/capture_reader/ gets a copy of every capture file;
* fuzz/corpus/dissect/ gets every frame of every file, prefixed with the two bytes the
  `dissect` target reads first: the index of the frame's link type in its LINKS table, and a
  wire-length byte of 0 (wire length = captured length).
"""

import hashlib
import os
import shutil
import struct
import sys

LINKS = [0, 1, 12, 101, 113, 228, 229, 276, 147]


def frames_pcap(data):
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return
    link = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
    i = 24
    while i + 16 <= len(data):
        incl = struct.unpack(e + "I", data[i + 8 : i + 12])[0]
        yield link, data[i + 16 : i + 16 + incl]
        i += 16 + incl


def frames_pcapng(data):
    i, e, links = 0, "<", []
    while i + 12 <= len(data):
        ty = struct.unpack(e + "I", data[i : i + 4])[0]
        if data[i : i + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if data[i + 8 : i + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            ty, links = 0x0A0D0D0A, []
        length = struct.unpack(e + "I", data[i + 4 : i + 8])[0]
        if length < 12:
            return
        body = data[i + 8 : i + length - 4]
        if ty == 1:
            links.append(struct.unpack(e + "H", body[:2])[0])
        elif ty == 6 and len(body) >= 20:
            iface, _, _, cap = struct.unpack(e + "IIII", body[:16])
            if iface < len(links):
                yield links[iface], body[20 : 20 + cap]
        elif ty == 3 and links:
            yield links[0], body[4:]
        i += length


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "corpus")
    pcaps = os.path.join(src, "pcaps")
    reader_dir = os.path.join(here, "corpus", "capture_reader")
    dissect_dir = os.path.join(here, "corpus", "dissect")
    os.makedirs(reader_dir, exist_ok=True)
    os.makedirs(dissect_dir, exist_ok=True)
    n = 0
    for name in sorted(os.listdir(pcaps)):
        path = os.path.join(pcaps, name)
        shutil.copy(path, os.path.join(reader_dir, name))
        data = open(path, "rb").read()
        walk = frames_pcapng if data[:4] == b"\x0a\x0d\x0d\x0a" else frames_pcap
        for link, frame in walk(data):
            if link not in LINKS:
                continue
            seed = bytes([LINKS.index(link), 0]) + frame
            digest = hashlib.sha1(seed).hexdigest()
            with open(os.path.join(dissect_dir, digest), "wb") as f:
                f.write(seed)
            n += 1
    print(f"{n} frames into {dissect_dir}, {len(os.listdir(reader_dir))} files into {reader_dir}")


if __name__ == "__main__":
    main()
