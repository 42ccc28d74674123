// The chat page at / in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): two pages connect with the page's own ~150-line Socket.IO client, chat,
// whisper, join a room, echo with an ack; the raw packets are shown; a screenshot is kept in
// tests/artifacts/sio/chat.png.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");
const { startWirelab, Suite, assert, ROOT } = require("./lib");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(ROOT, "tests/artifacts/sio");

(async () => {
  const suite = new Suite("chat page in headless Chromium");
  const server = await startWirelab();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "wirelab-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"],
      viewport: { width: 1200, height: 700 },
    });
    const [p1, p2] = [await context.newPage(), await context.newPage()];
    const errors = [];
    for (const p of [p1, p2]) p.on("pageerror", (e) => errors.push(String(e)));
    for (const p of [p1, p2]) await p.goto(server.url + "/");
    const idOf = async (p) => { await p.waitForFunction(() => window.myId, null, { timeout: 10000 }); return p.evaluate(() => window.myId); };
    const [id1, id2] = [await idOf(p1), await idOf(p2)];

    await suite.check("both pages connect and get a 24-character public id", async () => {
      assert(/^[A-Za-z0-9_-]{24}$/.test(id1) && /^[A-Za-z0-9_-]{24}$/.test(id2) && id1 !== id2, id1 + " " + id2);
    });
    await suite.check("the wire panel shows the handshake raw: 0{...}, 40, 40{...}", async () => {
      const wire = await p1.textContent("#wire");
      assert(/← 0\{"sid":/.test(wire), "open");
      assert(wire.includes("→ 40 "), "connect");
      assert(/← 40\{"sid":/.test(wire), "connect answer");
      assert(wire.includes('← 42["welcome"'), "welcome event");
    });
    await suite.check("a chat typed on page 1 appears on page 2", async () => {
      await p1.fill("#text", "hello from page one");
      await p1.press("#text", "Enter");
      await p2.waitForFunction(() => document.getElementById("log").textContent.includes("hello from page one"), null, { timeout: 5000 });
      const wire = await p1.textContent("#wire");
      assert(wire.includes('→ 42["chat","hello from page one"]'), "raw emit shown");
    });
    await suite.check("a whisper from page 2 reaches page 1", async () => {
      await p2.fill("#to", id1);
      await p2.fill("#wtext", "just for you");
      await p2.click("#wh button");
      await p1.waitForFunction(() => document.getElementById("log").textContent.includes("just for you"), null, { timeout: 5000 });
    });
    await suite.check("join a room with an ack, then a room message arrives", async () => {
      for (const p of [p1, p2]) {
        await p.click("#join");
        await p.waitForFunction(() => document.getElementById("log").textContent.includes("joined lab"), null, { timeout: 5000 });
      }
      await p1.fill("#rtext", "lab news");
      await p1.click("#rm button:last-of-type");
      await p2.waitForFunction(() => document.getElementById("log").textContent.includes("[lab]"), null, { timeout: 5000 });
      const wire = await p1.textContent("#wire");
      assert(/→ 42\d+\["join","lab"\]/.test(wire) && /← 43\d+\[\{"ok":true,"room":"lab"\}\]/.test(wire), "ack packets shown");
    });
    await suite.check("echo with ack, and the page answers the server's ack request", async () => {
      await p1.click("#echo");
      await p1.waitForFunction(() => document.getElementById("log").textContent.includes("ack: echoed"), null, { timeout: 5000 });
      await p2.evaluate(() => window.wirelabSocket.on("question", (q, cb) => cb({ answer: 42 })));
      server.send(`/ack ${id2} question "6x7?"`);
      assert(await server.waitLog(new RegExp(`ack from ${id2} .*"answer":42`)), server.log().slice(-400));
    });
    await suite.check("engine ping/pong kept the pages connected; no page errors", async () => {
      assert(errors.length === 0, errors.join("\n"));
      const me = await p1.textContent("#me");
      assert(me === id1, "still connected: " + me);
    });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await p1.screenshot({ path: path.join(ARTIFACTS, "chat.png") });
    console.log("screenshot: " + path.join(ARTIFACTS, "chat.png"));
  } catch (e) {
    console.log("FAILED setup: " + (e && e.stack || e));
    suite.failed++;
  } finally {
    if (context) await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
    await server.stop();
    suite.finish();
  }
})();
