// A node socket.io 4.8 server with the same events as `wirelab sio serve`: the peer for
// `wirelab sio connect` and the baseline of bench/sio.sh.
//   node node_server.js [PORT] [--quiet]     prints "listening on http://127.0.0.1:PORT"
"use strict";
const http = require("http");
const crypto = require("crypto");
const { Server } = require("socket.io");

function start({ port = 0, quiet = false, log = console.log } = {}) {
  const httpServer = http.createServer((req, res) => { res.writeHead(404); res.end(); });
  const io = new Server(httpServer, { serveClient: false, maxHttpBufferSize: 100000 });
  const say = (line) => { if (!quiet) log(line); };
  io.on("connection", (socket) => {
    const id = crypto.randomBytes(18).toString("base64url");
    socket.data.id = id;
    socket.join(id);
    say(`connect     ${id}`);
    socket.emit("welcome", { id, server: "node", bits: 144 });
    const known = new Set(["chat", "whisper", "join", "leave", "room", "shout", "echo", "askme"]);
    const reply = (cb, v) => { if (typeof cb === "function") cb(v); };
    const isId = (s) => typeof s === "string" && /^[A-Za-z0-9_-]{24}$/.test(s);
    socket.on("chat", (text, cb) => { say(`chat        ${id}: ${JSON.stringify(text)}`); io.emit("chat", { from: id, text }); reply(cb, { ok: true }); });
    socket.on("whisper", (m, cb) => {
      if (!m || !isId(m.to)) return reply(cb, { ok: false, error: "bad target" });
      io.to(m.to).emit("whisper", { from: id, text: m.text }); reply(cb, { ok: true });
    });
    socket.on("join", (room, cb) => {
      if (typeof room !== "string" || !room || isId(room)) return reply(cb, { ok: false, error: "bad room" });
      socket.join(room); say(`join        ${id} joins room "${room}"`); reply(cb, { ok: true, room });
    });
    socket.on("leave", (room, cb) => { socket.leave(room); reply(cb, { ok: true, room }); });
    socket.on("room", (m, cb) => {
      if (!m || typeof m.room !== "string") return reply(cb, { ok: false, error: "bad room" });
      io.to(m.room).emit("room", { from: id, room: m.room, text: m.text }); reply(cb, { ok: true });
    });
    socket.on("shout", (text, cb) => { socket.broadcast.emit("shout", { from: id, text }); reply(cb, { ok: true }); });
    socket.on("echo", (data, cb) => reply(typeof data === "function" ? data : cb, { echo: typeof data === "function" ? null : data, server: "node" }));
    // Ask the client for an ack, and tell it what came back: checks that a client answers.
    socket.on("askme", async () => {
      try {
        const answer = await socket.timeout(5000).emitWithAck("question", "6x7?");
        say(`ack from ${id}: ${JSON.stringify(answer)}`);
        socket.emit("answer-received", answer);
      } catch (e) {
        socket.emit("answer-received", { error: String(e) });
      }
    });
    socket.onAny((event) => { if (!known.has(event)) say(`ignored     ${id} sent "${event}", which has no handler`); });
    socket.on("disconnect", (reason) => say(`disconnect  ${id}: ${reason}`));
  });
  return new Promise((resolve) => httpServer.listen(port, "127.0.0.1", () => {
    const url = `http://127.0.0.1:${httpServer.address().port}`;
    resolve({ io, url, close: () => new Promise((r) => { io.close(); httpServer.close(() => r()); }) });
  }));
}

module.exports = { start };

if (require.main === module) {
  const args = process.argv.slice(2);
  const port = Number(args.find((a) => /^\d+$/.test(a)) || 0);
  const quiet = args.includes("--quiet");
  start({ port, quiet }).then((s) => {
    console.log(`listening on ${s.url}`);
    const stop = () => s.close().then(() => process.exit(0));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
