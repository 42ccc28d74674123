"""python-socketio 5.x (WebSocket client: websocket-client) against `wirelab sio serve`:
all, one, room, all-but-sender, acks both ways, an unhandled event."""
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback

import socketio

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
WIRELAB = os.environ.get("WIRELAB", os.path.join(ROOT, "target", "debug", "wirelab"))
QUIET = 0.3


class Server:
    """`wirelab sio serve --port 0`, its log, and its console."""

    def __init__(self):
        env = dict(os.environ, NO_COLOR="1")
        self.proc = subprocess.Popen([WIRELAB, "sio", "serve", "--port", "0"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, text=True, bufsize=1)
        self.out = ""
        self.lock = threading.Lock()
        self.url = None
        deadline = time.time() + 30
        while self.url is None:
            line = self.proc.stdout.readline()
            if not line or time.time() > deadline:
                raise RuntimeError("wirelab sio serve did not start:\n" + self.out)
            self.out += line
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                self.url = m.group(1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.out += line

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_log(self, pattern, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if re.search(pattern, self.out):
                    return True
            time.sleep(0.05)
        return False

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Peer:
    """A python-socketio client that records every event."""

    def __init__(self, url):
        self.events = []
        self.cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", self._any)
        self.sio.on("question", lambda q: {"answer": 42, "q": q})
        self.sio.connect(url, transports=["websocket"], wait_timeout=5)
        self.id = self.wait("welcome")["id"]
        self.clear()

    def _any(self, event, *args):
        with self.cond:
            self.events.append((event, args[0] if args else None))
            self.cond.notify_all()

    def wait(self, event, timeout=5.0):
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for i, (e, a) in enumerate(self.events):
                    if e == event:
                        del self.events[i]
                        return a
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"no {event} within {timeout} s; got {self.events}")
                self.cond.wait(left)

    def names(self):
        with self.cond:
            return [e for e, _ in self.events]

    def clear(self):
        with self.cond:
            self.events.clear()


passed = failed = 0


def check(what, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print("ok     " + what, flush=True)
    except Exception:
        failed += 1
        print("FAILED " + what + ":\n" + traceback.format_exc(), flush=True)


def main():
    server = Server()
    try:
        a, b, c = Peer(server.url), Peer(server.url), Peer(server.url)

        def ids():
            for p in (a, b, c):
                assert re.fullmatch(r"[A-Za-z0-9_-]{24}", p.id), p.id
                assert p.id != p.sio.get_sid(), "public id must not be the session id"
            assert len({a.id, b.id, c.id}) == 3

        def all_():
            a.sio.emit("chat", "hello from python")
            for p in (a, b, c):
                m = p.wait("chat")
                assert m["text"] == "hello from python" and m["from"] == a.id, m

        def one():
            time.sleep(QUIET)
            for p in (a, b, c):
                p.clear()
            a.sio.emit("whisper", {"to": b.id, "text": "psst"})
            assert b.wait("whisper")["text"] == "psst"
            time.sleep(QUIET)
            assert a.names() == [] and c.names() == [], (a.names(), c.names())

        def room():
            for p in (a, c):
                r = p.sio.call("join", "lab", timeout=5)
                assert r == {"ok": True, "room": "lab"}, r
            b.sio.emit("room", {"room": "lab", "text": "meeting"})
            for p in (a, c):
                assert p.wait("room")["from"] == b.id
            time.sleep(QUIET)
            assert b.names() == [], b.names()

        def all_but_sender():
            b.sio.emit("shout", "HEY")
            for p in (a, c):
                p.wait("shout")
            time.sleep(QUIET)
            assert b.names() == [], b.names()

        def ack_client_to_server():
            r = a.sio.call("echo", {"n": 7}, timeout=5)
            assert r["echo"] == {"n": 7}, r

        def ack_server_to_client():
            server.send(f'/ack {c.id} question "6x7?"')
            assert server.wait_log(rf'ack from {c.id} .*"answer":42'), server.out[-500:]
            c.clear()

        def unhandled():
            a.sio.emit("dance", {"moves": 3})
            assert server.wait_log(rf'{a.id} sent "dance", which has no handler'), server.out[-500:]
            time.sleep(QUIET)
            assert a.sio.connected
            assert a.sio.call("echo", "still?", timeout=5)["echo"] == "still?"

        check("ids are 24 base64url characters, distinct from the session id", ids)
        check("all: chat reaches every client, the sender too", all_)
        check("one: whisper reaches only its target", one)
        check("room: join (with ack), then only members hear it", room)
        check("all but sender: shout skips the sender", all_but_sender)
        check("ack client->server: echo answered through the ack", ack_client_to_server)
        check("ack server->client: the console's /ack gets the client's answer", ack_server_to_client)
        check("unhandled: ignored, logged, the connection stays up", unhandled)
        for p in (a, b, c):
            p.sio.disconnect()
    except Exception:
        traceback.print_exc()
        global failed
        failed += 1
    finally:
        server.stop()
    print(f"sio-interop: {passed} passed, {failed} failed", flush=True)
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
