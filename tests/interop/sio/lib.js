// Helpers shared by the node suites: start `wirelab sio serve`, read its log, count results.
"use strict";
const { spawn } = require("child_process");
const path = require("path");
const net = require("net");

const ROOT = path.resolve(__dirname, "../../..");
const WIRELAB = process.env.WIRELAB || path.join(ROOT, "target/debug/wirelab");

// Start `wirelab sio serve --port 0 ARGS`; resolves to { proc, url, log(), waitLog(re), send(line), stop() }.
function startWirelab(args = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(WIRELAB, ["sio", "serve", "--port", "0", ...args], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["pipe", "pipe", "inherit"],
    });
    let out = "";
    let url = null;
    const waiters = [];
    proc.stdout.on("data", (d) => {
      out += d.toString();
      if (!url) {
        const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
        if (m) {
          url = m[1];
          resolve(handle);
        }
      }
      for (const w of waiters.slice()) if (w.re.test(out)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(true); }
    });
    proc.on("exit", (code) => { if (!url) reject(new Error("wirelab sio serve exited with " + code + ":\n" + out)); });
    const handle = {
      proc,
      get url() { return url; },
      log: () => out,
      waitLog: (re, ms = 5000) => new Promise((res) => {
        if (re.test(out)) return res(true);
        const w = { re, resolve: res };
        waiters.push(w);
        setTimeout(() => { const i = waiters.indexOf(w); if (i >= 0) { waiters.splice(i, 1); res(false); } }, ms);
      }),
      send: (line) => proc.stdin.write(line + "\n"),
      stop: () => new Promise((res) => {
        if (proc.exitCode !== null) return res();
        proc.on("exit", () => res());
        proc.kill("SIGINT");
        setTimeout(() => { try { process.kill(proc.pid, "SIGKILL"); } catch (e) {} }, 5000).unref();
      }),
    };
  });
}

// A free TCP port on loopback.
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on("error", reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Wait for `event` on a socket.io-client socket; resolves to its first argument, rejects on timeout.
function once(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { socket.off(event, h); reject(new Error("no " + event + " within " + ms + " ms")); }, ms);
    const h = (arg) => { clearTimeout(t); resolve(arg); };
    socket.once(event, h);
  });
}

// Record every event a socket receives, to check what did NOT arrive.
function recorder(socket) {
  const got = [];
  socket.onAny((name) => got.push(name));
  return { got, clear: () => { got.length = 0; } };
}

// A tiny test runner: named checks, a count, and the closing line the CI reads.
class Suite {
  constructor(name) { this.name = name; this.passed = 0; this.failed = 0; }
  async check(what, fn) {
    try {
      await fn();
      this.passed++;
      console.log("ok     " + what);
    } catch (e) {
      this.failed++;
      console.log("FAILED " + what + ": " + (e && e.stack || e));
    }
  }
  finish() {
    console.log(`sio-interop: ${this.passed} passed, ${this.failed} failed`);
    process.exitCode = this.failed > 0 || this.passed === 0 ? 1 : 0;
  }
}

function assert(cond, msg) { if (!cond) throw new Error("assertion failed: " + msg); }

module.exports = { startWirelab, freePort, sleep, once, recorder, Suite, assert, WIRELAB, ROOT };
