// wirelab's WebSocket against node `ws` (8.x), both ways, on 127.0.0.1.
//
// 1. ws as the client of `wirelab ws serve --echo`: text, binary, a 70,000-byte message,
//    ping/pong, close 1000 from the client; and wirelab closing an idle client (1001).
// 2. ws as the server for `wirelab ws connect`: the same messages; close 1000 from wirelab,
//    and close 1000 from the node server.
//
// Prints `ws-interop: N passed, N failed`; exits non-zero on a failure.

import { WebSocket, WebSocketServer } from "ws";
import { Suite, startServer, stop, runConnect, checkConnectResults } from "./common.mjs";

const suite = new Suite("node");

// Wait for the next event of a kind, with a time limit.
function next(ws, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    ws.once(event, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}

async function clientOfWirelab() {
  let { proc, port } = await startServer("--echo", "--quiet");
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false });
    await next(ws, "open");
    ws.send("hello");
    let [data, isBinary] = await next(ws, "message");
    suite.check("client: text echoed", !isBinary && data.toString() === "hello");
    ws.send(Buffer.from([0, 1, 255]));
    [data, isBinary] = await next(ws, "message");
    suite.check("client: binary echoed", isBinary && Buffer.compare(data, Buffer.from([0, 1, 255])) === 0);
    const big = Buffer.alloc(70000, 0).map((_, i) => i % 251);
    ws.send(big);
    [data, isBinary] = await next(ws, "message");
    suite.check("client: 70,000-byte message echoed", isBinary && Buffer.compare(data, big) === 0);
    ws.ping(Buffer.from("abc"));
    const [pong] = await next(ws, "pong");
    suite.check("client: pong for our ping", pong.toString() === "abc");
    ws.close(1000, "node says bye");
    const [code] = await next(ws, "close");
    suite.check("client: close 1000 answered with 1000", code === 1000, String(code));
  } finally {
    await stop(proc);
  }

  ({ proc, port } = await startServer("--echo", "--quiet", "--idle-timeout", "0.5"));
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await next(ws, "open");
    const [code] = await next(ws, "close");
    suite.check("client: wirelab closes an idle client with 1001", code === 1001, String(code));
  } finally {
    await stop(proc);
  }
}

async function serverForWirelab() {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await next(wss, "listening");
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => {
      if (!isBinary && data.toString() === "close-me") {
        ws.close(1000, "node server says bye");
      } else if (ws.readyState === WebSocket.OPEN) {
        ws.send(data, { binary: isBinary });
      }
    });
  });
  const url = `ws://127.0.0.1:${wss.address().port}/`;
  const base = ["hello", "/binary 0001ff", "/big 70000", "/ping abc", "/sleep 1"];
  for (const [closeBy, last] of [
    ["client (wirelab)", "/close 1000 wirelab says bye"],
    ["server (node)", "close-me"],
  ]) {
    const result = await runConnect(url, [...base, last]);
    checkConnectResults(suite, "node", result, closeBy);
  }
  await new Promise((resolve) => wss.close(resolve));
}

try {
  await clientOfWirelab();
  await serverForWirelab();
} catch (e) {
  suite.check("suite ran to the end", false, String(e && e.stack));
}
process.exit(suite.finish());
