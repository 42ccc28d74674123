// The official socket.io-client 4.8 against `wirelab sio serve`: all, one, room,
// all-but-sender, acks both ways, an unhandled event. Run once with the default transports
// (HTTP long-polling, then upgrade to WebSocket) and once WebSocket-only.
"use strict";
const { io } = require("socket.io-client");
const { startWirelab, sleep, once, recorder, Suite, assert } = require("./lib");

const QUIET = 300;

async function connect(url, transports) {
  const s = io(url, { transports, reconnection: false, forceNew: true, timeout: 5000 });
  const welcome = await once(s, "welcome");
  s.wirelabId = welcome.id;
  return s;
}

async function run(suite, server, transports) {
  const tag = "[" + transports.join("+") + "] ";
  const [a, b, c] = [await connect(server.url, transports), await connect(server.url, transports), await connect(server.url, transports)];
  const rec = [a, b, c].map(recorder);
  const clear = () => rec.forEach((r) => r.clear());

  await suite.check(tag + "ids are 24 base64url characters, distinct from socket.id", async () => {
    for (const s of [a, b, c]) {
      assert(/^[A-Za-z0-9_-]{24}$/.test(s.wirelabId), s.wirelabId);
      assert(s.wirelabId !== s.id, "public id must not be the session id");
    }
    assert(new Set([a, b, c].map((s) => s.wirelabId)).size === 3, "distinct");
  });

  await suite.check(tag + "all: chat reaches every client, the sender too", async () => {
    clear();
    const got = Promise.all([a, b, c].map((s) => once(s, "chat")));
    a.emit("chat", "hello from node");
    const msgs = await got;
    for (const m of msgs) assert(m.text === "hello from node" && m.from === a.wirelabId, JSON.stringify(m));
  });

  await suite.check(tag + "one: whisper reaches only its target", async () => {
    await sleep(QUIET); clear();
    const got = once(b, "whisper");
    a.emit("whisper", { to: b.wirelabId, text: "psst" });
    const m = await got;
    assert(m.text === "psst", JSON.stringify(m));
    await sleep(QUIET);
    assert(rec[0].got.length === 0 && rec[2].got.length === 0, "others heard " + rec[0].got + rec[2].got);
  });

  await suite.check(tag + "room: join (with ack), then only members hear it", async () => {
    for (const s of [a, c]) {
      const r = await s.timeout(5000).emitWithAck("join", "lab");
      assert(r.ok === true && r.room === "lab", JSON.stringify(r));
    }
    clear();
    const got = Promise.all([a, c].map((s) => once(s, "room")));
    b.emit("room", { room: "lab", text: "meeting" });
    for (const m of await got) assert(m.room === "lab" && m.from === b.wirelabId, JSON.stringify(m));
    await sleep(QUIET);
    assert(rec[1].got.length === 0, "b heard " + rec[1].got);
  });

  await suite.check(tag + "all but sender: shout skips the sender", async () => {
    clear();
    const got = Promise.all([a, c].map((s) => once(s, "shout")));
    b.emit("shout", "HEY");
    await got;
    await sleep(QUIET);
    assert(rec[1].got.length === 0, "sender heard " + rec[1].got);
  });

  await suite.check(tag + "ack client→server: echo is answered through the ack", async () => {
    const r = await a.timeout(5000).emitWithAck("echo", { n: 7 });
    assert(r.echo.n === 7, JSON.stringify(r));
  });

  await suite.check(tag + "ack server→client: the console's /ack gets the client's answer", async () => {
    c.on("question", (q, cb) => cb({ answer: 42, q }));
    server.send(`/ack ${c.wirelabId} question "6x7?"`);
    const seen = await server.waitLog(new RegExp(`ack from ${c.wirelabId} .*"answer":42`));
    assert(seen, "server log has no ack from the client:\n" + server.log().slice(-500));
  });

  await suite.check(tag + "server console: /to reaches one client, /room a room", async () => {
    await sleep(QUIET); clear();
    const got = once(b, "notice");
    server.send(`/to ${b.wirelabId} notice {"just":"b"}`);
    assert((await got).just === "b", "payload");
    const got2 = Promise.all([a, c].map((s) => once(s, "notice")));
    server.send(`/room lab notice "lab"`);
    await got2;
    await sleep(QUIET);
    assert(rec[1].got.length === 1, "b heard " + rec[1].got);
  });

  await suite.check(tag + "unhandled: ignored, logged, the connection stays up", async () => {
    a.emit("dance", { moves: 3 });
    const logged = await server.waitLog(new RegExp(`${a.wirelabId} sent "dance", which has no handler`));
    assert(logged, "server did not log the ignored event");
    await sleep(QUIET);
    assert(a.connected, "client was disconnected");
    const r = await a.timeout(5000).emitWithAck("echo", "still?");
    assert(r.echo === "still?", JSON.stringify(r));
  });

  for (const s of [a, b, c]) s.disconnect();
}

(async () => {
  const suite = new Suite("node socket.io-client");
  const server = await startWirelab();
  try {
    await run(suite, server, ["polling", "websocket"]);
    await run(suite, server, ["websocket"]);
  } finally {
    await server.stop();
    suite.finish();
  }
})().catch((e) => { console.error(e); console.log("sio-interop: 0 passed, 1 failed"); process.exitCode = 1; });
