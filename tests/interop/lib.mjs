// Shared by the interop tests: start `libsql serve` on a free port, make Ed25519 keys and JWTs, load @libsql/client.
// Environment (set by tests/interop/CMakeLists.txt): LIBSQL_BIN (the libsql executable) and LIBSQL_NODE_MODULES
// (build/npm/node_modules, where scripts/setup installs @libsql/client@0.18.0).
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const bin = process.env.LIBSQL_BIN;
export const nodeModules = process.env.LIBSQL_NODE_MODULES;
if (!bin || !nodeModules) {
  console.error("LIBSQL_BIN and LIBSQL_NODE_MODULES must be set (ctest sets them)");
  process.exit(2);
}

/** @libsql/client (its Node entry, resolved from build/npm/node_modules). */
export async function loadClient() {
  return import(path.join(nodeModules, "@libsql/client/lib-esm/node.js"));
}

/** A fresh temporary directory, removed at exit. */
export function tempDir(prefix = "libsql-interop-") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const running = new Set();
function killAll() {
  for (const p of running) {
    try { p.kill("SIGKILL"); } catch { /* already gone */ }
  }
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => { killAll(); process.exit(1); });
process.on("uncaughtException", (e) => { console.error(e); killAll(); process.exit(1); });
process.on("unhandledRejection", (e) => { console.error(e); killAll(); process.exit(1); });

/**
 * Starts `libsql serve dbPath --listen 127.0.0.1:0 ...extraArgs` and resolves once it prints its address.
 * Returns { port, httpUrl, wsUrl, proc, stderr(), stop(signal) } (https:// and wss:// URLs when it serves TLS); every server is SIGKILLed at exit regardless.
 */
export function startServer(dbPath, extraArgs = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ["serve", dbPath, "--listen", "127.0.0.1:0", ...extraArgs], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(proc);
    let out = "";
    let err = "";
    let settled = false;
    const timer = setTimeout(() => {
      if (!settled) { settled = true; proc.kill("SIGKILL"); reject(new Error(`server did not start in 10 s: ${err}`)); }
    }, 10_000);
    proc.stderr.on("data", (d) => { err += d; });
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (https?):\/\/([^\s]+):(\d+)\n/.exec(out);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        const port = Number(m[3]);
        const secure = m[1] === "https";
        const exited = new Promise((res) => proc.once("exit", (code, signal) => { running.delete(proc); res({ code, signal }); }));
        resolve({
          port,
          httpUrl: `${secure ? "https" : "http"}://127.0.0.1:${port}`,
          wsUrl: `${secure ? "wss" : "ws"}://127.0.0.1:${port}`,
          proc,
          exited,
          stderr: () => err,
          stdout: () => out,
          async stop(signal = "SIGTERM") {
            if (proc.exitCode !== null || proc.signalCode !== null) return exited;
            proc.kill(signal);
            const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
            const r = await exited;
            clearTimeout(t);
            return r;
          },
        });
      }
    });
    proc.once("exit", (code, signal) => {
      running.delete(proc);
      if (!settled) { settled = true; clearTimeout(timer); reject(new Error(`server exited (${code ?? signal}) before listening: ${err}`)); }
    });
  });
}

/** An Ed25519 key pair; the public key is written as PEM to a temp file for --auth-jwt-key-file. */
export function makeKeys(dir) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
  const keyFile = path.join(dir, "jwt_key.pem");
  fs.writeFileSync(keyFile, publicKey.export({ type: "spki", format: "pem" }));
  return { publicKey, privateKey, keyFile };
}

const b64url = (buf) => Buffer.from(buf).toString("base64url");

/** A JWT signed with EdDSA, as Turso issues them. */
export function signJwt(privateKey, claims = {}) {
  const header = b64url(JSON.stringify({ alg: "EdDSA", typ: "JWT" }));
  const payload = b64url(JSON.stringify({ iat: Math.floor(Date.now() / 1000), ...claims }));
  const sig = crypto.sign(null, Buffer.from(`${header}.${payload}`), privateKey);
  return `${header}.${payload}.${b64url(sig)}`;
}

/** Runs named async checks in order, prints one line each, and exits 1 if any failed. */
export async function runChecks(name, checks, cleanup = async () => {}) {
  let failed = 0;
  for (const [label, fn] of checks) {
    const t0 = Date.now();
    try {
      await fn();
      console.log(`ok   ${name}: ${label} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${label}: ${e && e.stack ? e.stack : e}`);
    }
  }
  try { await cleanup(); } catch (e) { failed++; console.log(`FAIL ${name}: cleanup: ${e}`); }
  console.log(failed ? `${failed} check(s) failed` : "all checks passed");
  process.exit(failed ? 1 : 0);
}
