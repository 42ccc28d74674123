// Helpers shared by the node suites: start wirelab, drive `ws connect`, count results.

import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "..", "..", "..");

export function wirelabBin() {
  return process.env.WIRELAB_BIN || path.join(root, "target", "debug", "wirelab");
}

export class Suite {
  constructor(name) {
    this.name = name;
    this.passed = 0;
    this.failed = 0;
  }
  check(what, ok, detail = "") {
    if (ok) {
      this.passed++;
      console.log(`ok   ${this.name}: ${what}`);
    } else {
      this.failed++;
      console.log(`FAIL ${this.name}: ${what} ${detail}`);
    }
  }
  finish() {
    console.log(`ws-interop: ${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0 ? 0 : 1;
  }
}

// Start `wirelab ws serve --port 0 ...args`; resolve to { proc, port }.
export function startServer(...args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(wirelabBin(), ["--color", "never", "ws", "serve", "--port", "0", ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let seen = "";
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error("wirelab ws serve did not say where it listens"));
    }, 20000);
    proc.stdout.on("data", (chunk) => {
      seen += chunk.toString();
      const m = seen.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]) });
      }
    });
    proc.on("error", reject);
  });
}

// Stop a process we started, by its own handle.
export function stop(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.on("exit", () => resolve());
    proc.kill("SIGTERM");
    setTimeout(() => proc.kill("SIGKILL"), 5000).unref();
  });
}

// Run `wirelab ws connect URL --view json` with the lines on stdin (asynchronously, so the
// peer server in this process keeps running).
export function runConnect(url, lines) {
  return new Promise((resolve) => {
    const proc = spawn(wirelabBin(), ["--color", "never", "ws", "connect", url, "--view", "json"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (c) => (out += c.toString()));
    proc.stderr.on("data", (c) => (err += c.toString()));
    const timer = setTimeout(() => proc.kill("SIGKILL"), 30000);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      const objs = out
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l));
      resolve({ code, objs, err });
    });
    proc.stdin.end(lines.map((l) => l + "\n").join(""));
  });
}

export function checkConnectResults(suite, peer, { code, objs, err }, closeBy) {
  const got = objs
    .filter((o) => o.direction === "server_to_client" && o.fields && o.fields["websocket.opcode"])
    .map((o) => o.fields);
  const ops = JSON.stringify(got.map((f) => f["websocket.opcode"]));
  suite.check(`${peer} server: handshake 101`, objs.some((o) => o.fields && o.fields["http.response.code"] === "101"));
  suite.check(`${peer} server: text echoed`, got.some((f) => f["websocket.payload.text"] === "hello"), ops);
  suite.check(`${peer} server: binary echoed`, got.some((f) => f["data.data"] === "0001ff"), ops);
  suite.check(
    `${peer} server: 70,000-byte message echoed (64-bit length)`,
    got.some((f) => f["websocket.payload_length_ext_64"] === "70000"),
    ops,
  );
  suite.check(`${peer} server: pong for our ping`, got.some((f) => f["websocket.payload.pong"] === "616263"), ops);
  const closes = got.filter((f) => f["websocket.opcode"] === "8");
  suite.check(
    `${peer} server: close 1000 initiated by the ${closeBy}`,
    closes.length === 1 && closes[0]["websocket.payload.close.status_code"] === "1000",
    JSON.stringify(closes),
  );
  const sent = objs.filter(
    (o) => o.direction === "client_to_server" && o.fields && o.fields["websocket.opcode"] === "8",
  );
  suite.check(`${peer} server: wirelab sent exactly one close`, sent.length === 1, JSON.stringify(sent));
  suite.check(`${peer} server: clean exit`, code === 0, err.slice(-500));
}

export { spawnSync };
