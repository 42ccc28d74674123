"""wirelab's WebSocket against python `websockets` (17.x), both ways, on 127.0.0.1.

1. websockets as the client of `wirelab ws serve --echo`: text, binary, a 70,000-byte
   message, ping/pong, close 1000 from the client; and wirelab closing an idle client (1001).
2. websockets as the server for `wirelab ws connect`: the same messages; close 1000 from
   wirelab, and close 1000 from the python server.

Prints `ws-interop: N passed, N failed`; exits non-zero on a failure.
"""

import asyncio
import sys

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from common import Suite, check_connect_results, run_connect, start_server, stop

suite = Suite("python")


async def client_of_wirelab():
    proc, port = start_server("--echo", "--quiet")
    try:
        url = f"ws://127.0.0.1:{port}/ws"
        async with connect(url, max_size=None, compression=None) as ws:
            await ws.send("hello")
            suite.check("client: text echoed", await ws.recv() == "hello")
            await ws.send(b"\x00\x01\xff")
            suite.check("client: binary echoed", await ws.recv() == b"\x00\x01\xff")
            big = bytes(i % 251 for i in range(70_000))
            await ws.send(big)
            suite.check("client: 70,000-byte message echoed", await ws.recv() == big)
            waiter = await ws.ping(b"abc")
            latency = await asyncio.wait_for(waiter, 5)
            suite.check("client: pong for our ping", latency >= 0)
            await ws.close(1000, "python says bye")
            suite.check("client: close 1000 answered with 1000", ws.close_code == 1000, str(ws.close_code))
    finally:
        stop(proc)

    proc, port = start_server("--echo", "--quiet", "--idle-timeout", "0.5")
    try:
        async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed:
                pass
            suite.check("client: wirelab closes an idle client with 1001", ws.close_code == 1001, str(ws.close_code))
    finally:
        stop(proc)


async def echo_handler(ws):
    async for msg in ws:
        if msg == "close-me":
            await ws.close(1000, "python server says bye")
            return
        await ws.send(msg)


async def server_for_wirelab():
    async with serve(echo_handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        url = f"ws://127.0.0.1:{port}/"
        base = ["hello", "/binary 0001ff", "/big 70000", "/ping abc"]
        for close_by, last in (("client (wirelab)", "/close 1000 wirelab says bye"), ("server (python)", "close-me")):
            # Let the echoes arrive before closing: after a close, no data may follow.
            code, objs, err = await asyncio.to_thread(run_connect, url, base + ["/sleep 1", last])
            check_connect_results(suite, "python", code, objs, err, close_by)


async def main():
    await client_of_wirelab()
    await server_for_wirelab()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # a crash is a failure, not a silent exit
        suite.check("suite ran to the end", False, repr(e))
    sys.exit(suite.finish())
