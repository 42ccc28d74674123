// Headless Chromium opens wirelab's chat page twice and the two pages chat.
//
// `wirelab ws serve --chat` serves the page at / and the WebSocket at /ws; the page uses the
// browser's own WebSocket API. Page A and page B each send a message; both must show both
// messages. A screenshot of page A is kept in target/ws-interop/chat.png.
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
  async function sees(page, text) {
    try {
      await page.waitForFunction(
        (t) => [...document.querySelectorAll("#log .in")].some((d) => d.textContent === t),
        text,
        { timeout: 10000 },
      );
      return true;
    } catch {
      return false;
    }
  }
  await say(a, "hello from A");
  suite.check("page B receives A's message", await sees(b, "hello from A"));
  suite.check("page A receives its own message back (chat relays to all)", await sees(a, "hello from A"));
  await say(b, "hi A, this is B");
  suite.check("page A receives B's message", await sees(a, "hi A, this is B"));
  suite.check("page B receives its own message back", await sees(b, "hi A, this is B"));
  const shot = path.join(artifacts, "chat.png");
  await a.screenshot({ path: shot });
  suite.check(`screenshot kept at ${path.relative(root, shot)}`, fs.statSync(shot).size > 1000);

  // Closing a page closes its WebSocket (the browser sends a close frame, 1001 going away).
  await b.close();
  await say(a, "anyone there?");
  suite.check("the chat goes on after a page leaves", await sees(a, "anyone there?"));
} catch (e) {
  suite.check("suite ran to the end", false, String(e && e.stack));
} finally {
  if (context) await context.close();
  await stop(proc);
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(suite.finish());
