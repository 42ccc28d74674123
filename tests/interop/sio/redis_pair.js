// Two `wirelab sio serve --redis URL` processes sharing rooms through a Redis this test starts
// (127.0.0.1, a free port, no persistence, a temporary folder) and stops by its PID. Clients
// are the official socket.io-client 4.8.
"use strict";
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const net = require("net");
const { io } = require("socket.io-client");
const { startWirelab, freePort, sleep, once, recorder, Suite, assert } = require("./lib");

async function startRedis() {
  const version = execFileSync("redis-server", ["--version"]).toString();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirelab-redis-"));
  const proc = spawn("redis-server", ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no",
    "--dir", dir, "--protected-mode", "yes"], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((r) => { const s = net.connect(port, "127.0.0.1", () => { s.end(); r(true); }); s.on("error", () => r(false)); });
    if (up) break;
    await sleep(50);
  }
  return {
    version: version.trim(), port, pid: proc.pid,
    url: `redis://127.0.0.1:${port}/?protocol=resp3`,
    stop: () => new Promise((r) => {
      proc.on("exit", () => { fs.rmSync(dir, { recursive: true, force: true }); r(); });
      process.kill(proc.pid, "SIGTERM");
    }),
  };
}

async function client(url) {
  const s = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
  s.wirelabId = (await once(s, "welcome")).id;
  return s;
}

(async () => {
  const suite = new Suite("two wirelab servers through Redis");
  let redis, A, B;
  try {
    redis = await startRedis();
    console.log(`redis-server ${redis.version.split(" ")[2]} pid ${redis.pid} on 127.0.0.1:${redis.port}`);
    A = await startWirelab(["--redis", redis.url, "--name", "A"]);
    B = await startWirelab(["--redis", redis.url, "--name", "B"]);
    const onA = await client(A.url);
    const onB = await client(B.url);
    const otherB = await client(B.url);
    const rec = recorder(otherB);

    await suite.check("each server names itself in the welcome event", async () => {
      const s = io(B.url, { transports: ["websocket"], reconnection: false, forceNew: true });
      const w = await once(s, "welcome");
      s.disconnect();
      assert(w.server === "B", JSON.stringify(w));
    });
    await suite.check("a room broadcast from server A reaches the member on server B only", async () => {
      for (const s of [onA, onB]) assert((await s.timeout(5000).emitWithAck("join", "lab")).ok, "join");
      rec.clear();
      const got = once(onB, "room");
      onA.emit("room", { room: "lab", text: "across servers" });
      const m = await got;
      assert(m.text === "across servers" && m.from === onA.wirelabId, JSON.stringify(m));
      await sleep(300);
      assert(rec.got.length === 0, "non-member heard " + rec.got);
    });
    await suite.check("a whisper from A reaches one client on B by its public id", async () => {
      rec.clear();
      const got = once(onB, "whisper");
      onA.emit("whisper", { to: onB.wirelabId, text: "hi B" });
      assert((await got).text === "hi B", "whisper");
      await sleep(300);
      assert(rec.got.length === 0, "other heard " + rec.got);
    });
    await suite.check("chat from B reaches clients on both servers", async () => {
      const got = Promise.all([onA, onB, otherB].map((s) => once(s, "chat")));
      otherB.emit("chat", "everyone");
      await got;
    });
    await suite.check("server A's console reaches a client on B: /to, and /ack with its answer", async () => {
      const got = once(onB, "notice");
      A.send(`/to ${onB.wirelabId} notice "from A's console"`);
      assert((await got) === "from A's console", "notice");
      onB.on("question", (q, cb) => cb({ answer: 42 }));
      A.send(`/ack ${onB.wirelabId} question 1`);
      assert(await A.waitLog(new RegExp(`ack from ${onB.wirelabId} .*"answer":42`)), A.log().slice(-400));
    });
    for (const s of [onA, onB, otherB]) s.disconnect();
  } catch (e) {
    console.log("FAILED setup: " + (e && e.stack || e));
    suite.failed++;
  } finally {
    if (A) await A.stop();
    if (B) await B.stop();
    if (redis) await redis.stop();
    suite.finish();
  }
})();
