"""Helpers shared by the Python interop suite: start wirelab, drive `ws connect`, count results."""

import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def wirelab_bin():
    return os.environ.get("WIRELAB_BIN") or os.path.join(ROOT, "target", "debug", "wirelab")


class Suite:
    """Counts checks and prints `ws-interop: N passed, N failed` at the end."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {self.name}: {what}")
        else:
            self.failed += 1
            print(f"FAIL {self.name}: {what} {detail}")
        sys.stdout.flush()

    def finish(self):
        print(f"ws-interop: {self.passed} passed, {self.failed} failed")
        return 0 if self.failed == 0 else 1


def start_server(*args):
    """Start `wirelab ws serve --port 0 ARGS`; return (process, port)."""
    proc = subprocess.Popen(
        [wirelab_bin(), "--color", "never", "ws", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 20
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise RuntimeError("wirelab ws serve did not say where it listens")


def stop(proc):
    """Stop a process we started, by its own handle."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_connect(url, lines, timeout=30):
    """Run `wirelab ws connect URL --view json` with LINES on stdin; return (exit code, JSON
    objects printed, stderr)."""
    proc = subprocess.run(
        [wirelab_bin(), "--color", "never", "ws", "connect", url, "--view", "json"],
        input="".join(l + "\n" for l in lines),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    objs = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line:
            objs.append(json.loads(line))
    return proc.returncode, objs, proc.stderr


def received(objs):
    """The frames wirelab received (server to client), as their flat field maps."""
    return [o["fields"] for o in objs if o.get("direction") == "server_to_client" and "websocket.opcode" in o.get("fields", {})]


def check_connect_results(suite, peer, code, objs, err, close_by):
    """The checks every peer server must pass with `ws connect`."""
    got = received(objs)
    ops = [f["websocket.opcode"] for f in got]
    suite.check(f"{peer} server: handshake 101", any(o.get("fields", {}).get("http.response.code") == "101" for o in objs))
    suite.check(f"{peer} server: text echoed", any(f.get("websocket.payload.text") == "hello" for f in got), str(got[:3]))
    suite.check(f"{peer} server: binary echoed", any(f.get("data.data") == "0001ff" for f in got), str(ops))
    suite.check(
        f"{peer} server: 70,000-byte message echoed (64-bit length)",
        any(f.get("websocket.payload_length_ext_64") == "70000" for f in got),
        str(ops),
    )
    suite.check(f"{peer} server: pong for our ping", any(f.get("websocket.payload.pong") == "616263" for f in got), str(ops))
    closes = [f for f in got if f["websocket.opcode"] == "8"]
    suite.check(
        f"{peer} server: close 1000 initiated by the {close_by}",
        len(closes) == 1 and closes[0].get("websocket.payload.close.status_code") == "1000",
        str(closes),
    )
    sent_closes = [
        o["fields"] for o in objs if o.get("direction") == "client_to_server" and o.get("fields", {}).get("websocket.opcode") == "8"
    ]
    suite.check(f"{peer} server: wirelab sent exactly one close", len(sent_closes) == 1, str(sent_closes))
    suite.check(f"{peer} server: clean exit", code == 0, err[-500:])
