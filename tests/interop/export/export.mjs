// Headless Chromium opens the page `wirelab dissect FILE --export trace.html` wrote, and a
// learner's clicks are played on it:
//
//   * the page loads with no request to anywhere (it is self-contained) and no script error;
//   * clicking a packet in the list shows its layers (the names and OSI placement asserted),
//     its fields with explanations, and its bytes coloured by layer;
//   * clicking an arrow of the ladder selects that arrow's packet;
//   * the arrow keys move to the next and previous packet;
//   * at 1280×720 (a projector) the page never scrolls sideways, the packet list and the
//     packet's detail sit side by side, the bytes are beside the fields and on screen, and
//     the A−/A+ buttons change the text size (still without sideways scrolling); a
//     screenshot of that is kept (export-1280x720.png).
//
// Usage: node export.mjs PAGE.html
// Environment: CHROMIUM (default /usr/bin/chromium), ARTIFACTS (where the screenshots go,
// default ./artifacts). Prints `export-interop: N passed, N failed`.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const page_file = process.argv[2];
if (!page_file) {
  console.error("usage: node export.mjs PAGE.html");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const artifacts = process.env.ARTIFACTS || path.join(path.dirname(new URL(import.meta.url).pathname), "artifacts");
fs.mkdirSync(artifacts, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "wirelab-export-chromium-"));

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? ": " + detail : ""}`);
  }
}

let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 720 },
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
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  page.on("request", (r) => {
    if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(pathToFileURL(path.resolve(page_file)).href);
  await page.waitForSelector("#packets li");

  const count = await page.locator("#packets li").count();
  check("the packet list is filled", count > 0, `${count} rows`);
  const arrows = await page.locator("g.arrow").count();
  check("the ladder has arrows", arrows > 0, `${arrows} arrows`);

  // Click the first TCP packet carrying data (a PSH), else the first TCP packet.
  const rows = await page.locator("#packets li").allTextContents();
  let pick = rows.findIndex((t) => /PSH/.test(t));
  if (pick < 0) pick = rows.findIndex((t) => /TCP/.test(t));
  if (pick < 0) pick = 0;
  await page.locator("#packets li").nth(pick).click();
  const title = await page.locator("#detail-title").textContent();
  check("clicking a packet names it in the detail pane", /^Packet \d+ · \d+ bytes · /.test(title), title);
  const layerText = await page.locator("#layers").innerText();
  for (const want of ["Ethernet II", "OSI L2 Data link", "TCP/IP: Link", "IPv4", "OSI L3 Network",
                      "TCP/IP: Internet", "TCP", "OSI L4 Transport", "TCP/IP: Transport"]) {
    check(`the layers show "${want}"`, layerText.includes(want));
  }
  check("fields carry their Wireshark names", layerText.includes("tcp.srcport") && layerText.includes("ip.src"));
  const explained = await page.locator("#layers .explain").count();
  check("fields carry explanations", explained > 5, `${explained} explanations`);
  const hexBytes = await page.locator("#hex .b").count();
  const colours = await page.locator("#hex .b").evaluateAll((bs) => new Set(bs.map((b) => b.style.color)).size);
  check("the hex dump shows the bytes", hexBytes >= 54, `${hexBytes} bytes`);
  check("the bytes are coloured by layer", colours >= 3, `${colours} colours`);
  const selectedArrow = await page.locator("g.arrow.sel").count();
  check("the packet's arrow is highlighted in the ladder", selectedArrow === 1, `${selectedArrow}`);

  // The projector layout (1280×720).
  const layout = async () => page.evaluate(() => {
    const r = (sel) => {
      const e = document.querySelector(sel);
      if (!e) return null;
      const b = e.getBoundingClientRect();
      return { left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width, height: b.height };
    };
    return {
      scrollWidth: document.documentElement.scrollWidth,
      bodyScrollWidth: document.body.scrollWidth,
      innerWidth: window.innerWidth,
      innerHeight: window.innerHeight,
      list: r("#packets"), detail: r("#detail"), layers: r("#layers"), bytes: r("#bytes"),
      firstByte: r("#byte-0"), lastRowByte: r("#hex .b:last-of-type"),
      font: parseFloat(getComputedStyle(document.querySelector("#layers .flabel")).fontSize),
      listFont: parseFloat(getComputedStyle(document.querySelector("#packets")).fontSize),
    };
  });
  const onScreen = (b, L) => b && b.width > 0 && b.height > 0 && b.left >= 0 && b.right <= L.innerWidth + 0.5 &&
    b.top < L.innerHeight && b.bottom > 0;
  let L = await layout();
  check("1280×720: the page does not scroll sideways",
        L.scrollWidth <= L.innerWidth && L.bodyScrollWidth <= L.innerWidth,
        `scrollWidth ${L.scrollWidth}/${L.bodyScrollWidth}, innerWidth ${L.innerWidth}`);
  check("1280×720: the packet list is on screen", onScreen(L.list, L) && L.list.height >= 120 && L.list.top < L.innerHeight - 120,
        JSON.stringify(L.list));
  check("1280×720: the detail is on screen", onScreen(L.detail, L), JSON.stringify(L.detail));
  check("1280×720: list and detail side by side", L.list.right <= L.detail.left + 0.5 &&
        L.list.top < L.detail.bottom && L.detail.top < L.list.bottom,
        `list ${JSON.stringify(L.list)} detail ${JSON.stringify(L.detail)}`);
  check("1280×720: the bytes pane is beside the fields", onScreen(L.bytes, L) && L.bytes.left >= L.layers.right - 0.5 &&
        L.bytes.top < L.layers.bottom, `bytes ${JSON.stringify(L.bytes)} layers ${JSON.stringify(L.layers)}`);
  check("1280×720: the first bytes are visible without scrolling", onScreen(L.firstByte, L) &&
        L.firstByte.bottom <= L.innerHeight, JSON.stringify(L.firstByte));
  await page.screenshot({ path: path.join(artifacts, "export-1280x720.png"), fullPage: false });

  // The text size control.
  const before = L.font;
  await page.locator("#font-up").click();
  await page.locator("#font-up").click();
  let L2 = await layout();
  check("A+ makes the text larger", L2.font > before && L2.listFont > L.listFont,
        `fields ${before} -> ${L2.font} px, list ${L.listFont} -> ${L2.listFont} px`);
  for (let i = 0; i < 3; i++) await page.locator("#font-up").click();
  L2 = await layout();
  check("at the largest sizes the page still does not scroll sideways", L2.scrollWidth <= L2.innerWidth &&
        onScreen(L2.bytes, L2) && L2.bytes.left >= L2.layers.right - 0.5,
        `font ${L2.font} px, scrollWidth ${L2.scrollWidth}, bytes ${JSON.stringify(L2.bytes)}`);
  const hexFits = await page.evaluate(() => {
    const h = document.querySelector("#bytes");
    return h.scrollWidth <= h.clientWidth + 1;
  });
  check("at the largest sizes the fields keep room and the bytes fit their pane",
        L2.layers.width >= 250 && hexFits, `fields ${L2.layers.width} px wide, bytes fit: ${hexFits}`);
  await page.screenshot({ path: path.join(artifacts, "export-1280x720-large.png"), fullPage: false });
  for (let i = 0; i < 7; i++) await page.locator("#font-down").click();
  L2 = await layout();
  check("A− makes the text smaller", L2.font < before, `${before} -> ${L2.font} px`);
  for (let i = 0; i < 2; i++) await page.locator("#font-up").click();
  L2 = await layout();
  check("A−/A+ come back to the size they started at", L2.font === before, `${before} vs ${L2.font} px`);

  // A field click lights its bytes.
  await page.locator("#layers li", { hasText: "tcp.srcport" }).first().click();
  const lit = await page.locator("#hex .b.hl").count();
  check("clicking a field lights its bytes", lit === 2, `${lit} bytes lit`);
  await page.screenshot({ path: path.join(artifacts, "export-packet.png"), fullPage: true });

  // An arrow click selects its packet.
  const arrow = page.locator("g.arrow").nth(0);
  const wanted = await arrow.getAttribute("data-number");
  await arrow.click();
  const t2 = await page.locator("#detail-title").textContent();
  check("clicking an arrow selects its packet", t2.startsWith(`Packet ${wanted} `), `${t2} (wanted ${wanted})`);

  // The keyboard.
  await page.locator("body").press("ArrowDown");
  const t3 = await page.locator("#detail-title").textContent();
  const selRow = await page.locator("#packets li.sel").getAttribute("data-packet");
  check("↓ moves to the next packet", t3 !== t2 && selRow !== null, `${t2} -> ${t3}`);
  await page.locator("body").press("ArrowUp");
  const t4 = await page.locator("#detail-title").textContent();
  check("↑ moves back", t4 === t2, `${t4}`);
  await page.screenshot({ path: path.join(artifacts, "export-arrow.png"), fullPage: false });

  check("nothing was fetched from anywhere", requests.length === 0, requests.join(", "));
  check("no script errors", errors.length === 0, errors.join(" | "));
} catch (e) {
  check("the page could be driven", false, String(e && e.stack ? e.stack : e));
} finally {
  if (context) await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(`export-interop: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
