// `wirelab sio connect --script` against a node socket.io 4.8 server: wirelab's own client
// does the handshakes, emits, asks for acks, answers the server's ack request (which
// rust_socketio 0.6 cannot), and sends an event with no handler.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { start } = require("./node_server");
const { Suite, assert, WIRELAB } = require("./lib");

function runConnect(url, script, extra = []) {
  return new Promise((resolve) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wirelab-sio-"));
    const file = path.join(dir, "script.txt");
    fs.writeFileSync(file, script);
    const p = spawn(WIRELAB, ["sio", "connect", url, "--script", file, ...extra], { env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const killer = setTimeout(() => p.kill("SIGKILL"), 30000);
    p.on("exit", (code) => { clearTimeout(killer); fs.rmSync(dir, { recursive: true, force: true }); resolve({ code, out }); });
  });
}

(async () => {
  const suite = new Suite("sio connect vs node socket.io");
  const log = [];
  const server = await start({ log: (l) => log.push(l) });
  try {
    const script = [
      "/join lab",
      "/ack echo {\"n\":1}",
      "/emit chat \"hello node\"",
      "/expect chat 5",
      "/emit room {\"room\":\"lab\",\"text\":\"to the lab\"}",
      "/expect room 5",
      "/emit askme",
      "/expect answer-received 5",
      "/emit no-such-event 1",
      "/ack echo 2",
      "/quit",
    ].join("\n");
    const { code, out } = await runConnect(server.url, script);
    await suite.check("the script ran to the end with exit code 0", async () => assert(code === 0, "exit " + code + "\n" + out));
    await suite.check("Engine.IO handshake shown raw and explained", async () => {
      assert(/← 0\{"sid":"[^"]+","upgrades":\[\],"pingInterval":\d+/.test(out), "open packet");
      assert(out.includes("Engine.IO OPEN: session id"), "explanation");
      assert(/→ 40\n/.test(out) && /← 40\{"sid":"/.test(out), "connect and its answer");
    });
    await suite.check("join and echo acks: 420[...] answered by 430[...]", async () => {
      assert(out.includes('→ 420["join","lab"]'), "join with ack id 0");
      assert(out.includes('← 430[{"ok":true,"room":"lab"}]'), "join ack");
      assert(out.includes('→ 421["echo",{"n":1}]') && out.includes('← 431[{"echo":{"n":1},"server":"node"}]'), "echo ack");
    });
    await suite.check("events from the node server arrive: chat and room", async () => {
      assert(/← 42\["chat",\{"from":"[^"]+","text":"hello node"\}\]/.test(out), "chat");
      assert(out.includes('"room":"lab","text":"to the lab"'), "room");
    });
    await suite.check("wirelab answers the node server's ack request", async () => {
      assert(/← 42\d+\["question","6x7\?"\]/.test(out), "the server's question with an ack id");
      assert(/→ 43\d+\[\{"ok":true,"event":"question","by":"wirelab sio connect"\}\]/.test(out), "our ack");
      assert(log.some((l) => l.startsWith("ack from") && l.includes('"by":"wirelab sio connect"')), "server got it: " + log.join("\n"));
      assert(out.includes('got "answer-received" [{"ok":true,"event":"question"'), "server echoed the answer");
    });
    await suite.check("unhandled event: ignored by node, connection stays up", async () => {
      assert(log.some((l) => l.includes('sent "no-such-event", which has no handler')), log.join("\n"));
      assert(out.includes('→ 422["echo",2]') && out.includes('← 432[{"echo":2,"server":"node"}]'), "echo after it");
    });
    await suite.check("the client leaves cleanly (41)", async () => assert(/→ 41\n/.test(out), "41"));
    await suite.check("a failed /expect makes the script fail (exit 1)", async () => {
      const r = await runConnect(server.url, "/expect never-sent 0.5\n");
      assert(r.code === 1, "exit " + r.code);
    });
  } finally {
    await server.close();
    suite.finish();
  }
})().catch((e) => { console.error(e); console.log("sio-interop: 0 passed, 1 failed"); process.exitCode = 1; });
