// Headless Chromium on the Socket.IO chat page of `wirelab sio serve`: the ids and the rooms.
//
// Two pages connect. Each must call its public id "your id" and show it whole (24
// characters, copyable), label the Engine.IO session as private, show every sender's id whole
// in the chat, and list who is here and who is in which room, kept up to date as pages join,
// leave and go. A screenshot is kept in target/ws-interop/sio-chat.png.
//
// Uses Debian's chromium (CHROMIUM, default /usr/bin/chromium) through playwright-core.
// Prints `ws-interop: N passed, N failed` (it runs with the WebSocket suites, which have the
// browser set up).

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { Suite, stop, root, wirelabBin } from "./common.mjs";

const suite = new Suite("sio-page");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "wirelab-chromium-"));
const artifacts = path.join(root, "target", "ws-interop");
fs.mkdirSync(artifacts, { recursive: true });

// `wirelab sio serve --port 0`; resolves to { proc, url } once it says where it listens.
function startSio() {
  return new Promise((resolve, reject) => {
    const proc = spawn(wirelabBin(), ["--color", "never", "sio", "serve", "--port", "0"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    let seen = "";
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error("wirelab sio serve did not say where it listens"));
    }, 20000);
    proc.stdout.on("data", (chunk) => {
      seen += chunk.toString();
      const m = seen.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ proc, url: m[1] });
      }
    });
    proc.on("error", reject);
  });
}

const ID = /^[A-Za-z0-9_-]{24}$/;
const { proc, url } = await startSio();
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 720 },
  });
  const [p1, p2] = [await context.newPage(), await context.newPage()];
  const errors = [];
  for (const p of [p1, p2]) p.on("pageerror", (e) => errors.push(String(e)));
  for (const p of [p1, p2]) await p.goto(url + "/");
  const idOf = async (p) => {
    await p.waitForFunction(() => window.myId, null, { timeout: 10000 });
    return p.evaluate(() => window.myId);
  };
  const [id1, id2] = [await idOf(p1), await idOf(p2)];
  suite.check("both pages get a whole 24-character public id", ID.test(id1) && ID.test(id2) && id1 !== id2, `${id1} ${id2}`);

  const log1 = await p1.textContent("#log");
  suite.check("the page calls the public id \"your id\", whole", log1.includes("your id: " + id1) && (await p1.textContent("#me")) === id1, log1);
  suite.check("the Engine.IO session is labelled as private", /Engine\.IO session \S+: private/.test(log1), log1);
  const sid = (log1.match(/Engine\.IO session (\S+):/) || [])[1];
  suite.check("…and is not the public id", sid && sid !== id1, sid);

  // Everyone is listed, by their whole public id.
  const listed = async (p, ids) => {
    try {
      await p.waitForFunction(
        (want) => want.every((id) => document.getElementById("everyone").textContent.includes(id)),
        ids,
        { timeout: 5000 },
      );
      return true;
    } catch {
      return false;
    }
  };
  suite.check("page 1 lists both pages' ids under everyone", await listed(p1, [id1, id2]));
  const everyone = await p1.textContent("#everyone");
  suite.check("no Engine.IO session id is listed", !everyone.includes(sid), everyone);

  await p2.fill("#text", "hello with a whole id");
  await p2.press("#text", "Enter");
  await p1.waitForFunction(() => document.getElementById("log").textContent.includes("hello with a whole id"), null, { timeout: 5000 });
  const line = await p1.evaluate(() => [...document.querySelectorAll("#log div")].map((d) => d.textContent).find((t) => t.includes("hello with a whole id")));
  suite.check("a chat line shows its sender's whole id", line === "[all] " + id2 + ": hello with a whole id", line);

  // Clicking an id fills the whisper box: the id is usable as it is shown.
  await p1.click(`#log code.id:text("${id2}")`);
  suite.check("clicking an id puts it, whole, in the whisper box", (await p1.inputValue("#to")) === id2);
  await p1.fill("#wtext", "psst");
  await p1.click("#wh button");
  await p2.waitForFunction(() => document.getElementById("log").textContent.includes("psst"), null, { timeout: 5000 });
  suite.check("…and the whisper reaches that page", true);

  // Rooms and their members.
  const roomHas = async (p, room, ids) => {
    try {
      await p.waitForFunction(
        ([r, want]) => {
          const h = [...document.querySelectorAll("#rooms .room")].find((e) => e.dataset.room === r);
          if (!h) return want.length === 0;
          const members = [...h.nextElementSibling.querySelectorAll("code.id")].map((c) => c.textContent);
          return members.length === want.length && want.every((id) => members.includes(id));
        },
        [room, ids],
        { timeout: 5000 },
      );
      return true;
    } catch {
      return false;
    }
  };
  await p1.click("#join");
  suite.check("after page 1 joins lab, page 2 sees lab with page 1 in it", await roomHas(p2, "lab", [id1]));
  await p2.click("#join");
  suite.check("after page 2 joins too, page 1 sees both in lab", await roomHas(p1, "lab", [id1, id2]));
  await p1.click("#leave");
  suite.check("after page 1 leaves, lab holds page 2 only", await roomHas(p2, "lab", [id2]));
  const shot = path.join(artifacts, "sio-chat.png");
  await p2.screenshot({ path: shot });
  suite.check(`screenshot kept at ${path.relative(root, shot)}`, fs.statSync(shot).size > 1000);
  await p2.close();
  let gone = false;
  try {
    await p1.waitForFunction((id) => !document.getElementById("everyone").textContent.includes(id), id2, { timeout: 5000 });
    gone = true;
  } catch {}
  suite.check("a page that closes leaves the list", gone);
  suite.check("no page errors", errors.length === 0, errors.join("\n"));
} catch (e) {
  suite.check("suite ran to the end", false, String(e && e.stack));
} finally {
  if (context) await context.close();
  await stop(proc);
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(suite.finish());
