// Headless Chromium opens wirelab's chat page twice and the two pages chat.
//
// `wirelab ws serve --chat` serves the page at / and the WebSocket at /ws; the page uses the
// browser's own WebSocket API. Page A and page B each send a message; both must show both
// messages, each with the name of its sender (the page asks for the wirelab.chat
// subprotocol), and the Frames panel shows each message's frame header. A screenshot of page A
// is kept in target/ws-interop/chat.png.
//
// Uses Debian's chromium (CHROMIUM env var, default /usr/bin/chromium) through
// playwright-core, with a fresh profile directory. Prints `ws-interop: N passed, N failed`.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { Suite, startServer, stop, root } from "./common.mjs";

const suite = new Suite("browser");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "wirelab-chromium-"));
const artifacts = path.join(root, "target", "ws-interop");
fs.mkdirSync(artifacts, { recursive: true });

const { proc, port } = await startServer("--chat");
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const url = `http://127.0.0.1:${port}/`;
  const a = await context.newPage();
  const b = await context.newPage();
  for (const p of [a, b]) {
    await p.goto(url);
    await p.waitForFunction(() => document.getElementById("state").textContent === "open", null, {
      timeout: 15000,
    });
  }
  suite.check("both pages opened their WebSocket", true);

  async function say(page, text) {
    await page.fill("#text", text);
    await page.press("#text", "Enter");
  }
  // A line of the chat log: "<sender>: <text>", the sender marked "(you)" on its own page.
  async function sees(page, text, from) {
    try {
      await page.waitForFunction(
        ([t, f]) =>
          [...document.querySelectorAll("#log .in, #log .mine")].some((d) => d.textContent === f + ": " + t),
        [text, from],
        { timeout: 10000 },
      );
      return true;
    } catch {
      return false;
    }
  }
  const nameOf = async (p) => {
    await p.waitForFunction(() => /^client \d+$/.test(document.getElementById("me").textContent), null, { timeout: 10000 });
    return p.textContent("#me");
  };
  const [nameA, nameB] = [await nameOf(a), await nameOf(b)];
  suite.check("each page is told its own name (wirelab.chat agreed)", nameA !== nameB, `${nameA} ${nameB}`);
  suite.check("the page says which subprotocol was agreed", (await a.textContent("#log")).includes("subprotocol wirelab.chat agreed"));
  await say(a, "hello from A");
  suite.check("page B receives A's message, with A as its sender", await sees(b, "hello from A", nameA));
  suite.check("page A receives its own message back, marked as its own", await sees(a, "hello from A", nameA + " (you)"));
  await say(b, "hi A, this is B");
  suite.check("page A receives B's message, with B as its sender", await sees(a, "hi A, this is B", nameB));
  suite.check("page B receives its own message back", await sees(b, "hi A, this is B", nameB + " (you)"));
  const frames = await a.textContent("#frames");
  // "hello from A" is 12 bytes: FIN + text opcode = 0x81, MASK + length 12 = 0x8c.
  suite.check("the Frames panel shows the sent frame's header (81 8c, masked)", frames.includes("→ Text FIN=1 opcode=1 MASK=1 len=12  81 8c"), frames.slice(0, 300));
  suite.check("…and the received frames, unmasked", /← Text FIN=1 opcode=1 MASK=0 len=\d+  81 [0-7][0-9a-f]/.test(frames), frames.slice(0, 300));
  const shot = path.join(artifacts, "chat.png");
  await a.screenshot({ path: shot });
  suite.check(`screenshot kept at ${path.relative(root, shot)}`, fs.statSync(shot).size > 1000);

  // Closing a page closes its WebSocket (the browser sends a close frame, 1001 going away).
  await b.close();
  await say(a, "anyone there?");
  suite.check("the chat goes on after a page leaves", await sees(a, "anyone there?", nameA + " (you)"));
} catch (e) {
  suite.check("suite ran to the end", false, String(e && e.stack));
} finally {
  if (context) await context.close();
  await stop(proc);
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(suite.finish());
