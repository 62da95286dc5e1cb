// TLS: @libsql/client@0.18.0 reaches `libsql serve --tls-cert-file ... --tls-key-file ...` over https:// and wss://
// when Node trusts the test CA (NODE_EXTRA_CA_CERTS, read by Node at startup: the checks that need it run in a child
// process started with it), and fails with a certificate error when it does not (this process). The CA and the
// server certificate are made at test time by tests/support/make_test_certs.sh (openssl) in a temp dir.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadClient, runChecks, startServer, tempDir } from "./lib.mjs";

const { createClient } = await loadClient();
const here = path.dirname(fileURLToPath(import.meta.url));

if (process.argv[2] === "child") {
  // Runs with NODE_EXTRA_CA_CERTS=ca.pem: the server is trusted.
  const [httpUrl, wsUrl] = process.argv.slice(3);
  const checks = [];
  for (const [transport, url] of [["https", httpUrl], ["wss", wsUrl]]) {
    checks.push([`${transport}: execute, batch and a transaction`, async () => {
      const c = createClient({ url });
      try {
        const t = `t_${transport}_${process.pid}`;
        await c.execute(`CREATE TABLE ${t}(x)`);
        await c.batch([{ sql: `INSERT INTO ${t} VALUES (?)`, args: [1] }, `INSERT INTO ${t} VALUES (2)`], "write");
        const tx = await c.transaction("write");
        await tx.execute(`INSERT INTO ${t} VALUES (3)`);
        await tx.commit();
        assert.equal(Number((await c.execute(`SELECT sum(x) AS s FROM ${t}`)).rows[0].s), 6);
      } finally {
        c.close();
      }
    }]);
  }
  await runChecks("tls (trusted)", checks);
}

const dir = tempDir("libsql-tls-");
execFileSync("bash", [path.join(here, "../support/make_test_certs.sh"), dir]);
const server = await startServer(path.join(dir, "tls.db"), [
  "--tls-cert-file", path.join(dir, "server.pem"), "--tls-key-file", path.join(dir, "server.key"),
]);
assert.ok(server.httpUrl.startsWith("https://"), server.httpUrl);

const runChild = () => new Promise((resolve) => {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "child", server.httpUrl, server.wsUrl], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, "ca.pem") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { out += d; });
  child.on("exit", (code) => resolve({ code, out }));
});

/** Raw bytes to the port, and whatever comes back until the server closes. */
const rawExchange = (bytes) => new Promise((resolve, reject) => {
  const s = net.connect(server.port, "127.0.0.1");
  let got = "";
  s.on("connect", () => s.write(bytes));
  s.on("data", (d) => { got += d; });
  s.on("end", () => resolve(got));
  s.on("error", reject);
  setTimeout(() => { s.destroy(); reject(new Error(`no close within 5 s; got ${JSON.stringify(got)}`)); }, 5000);
});

await runChecks("tls", [
  ["@libsql/client over https:// and wss:// with NODE_EXTRA_CA_CERTS", async () => {
    const { code, out } = await runChild();
    process.stdout.write(out.replace(/^/gm, "     "));
    assert.equal(code, 0, "the child's checks failed");
  }],
  ["without the CA: https:// fails with a certificate error", async () => {
    const c = createClient({ url: server.httpUrl });
    try {
      await assert.rejects(c.execute("SELECT 1"), (e) => {
        const text = `${e.message} ${e.cause?.message ?? ""} ${e.cause?.cause?.message ?? ""} ${e.cause?.code ?? ""} ${e.cause?.cause?.code ?? ""}`;
        console.log(`     (${text.trim().slice(0, 160)})`);
        return /certificate|SELF_SIGNED|UNABLE_TO_VERIFY|issuer/i.test(text);
      });
    } finally {
      c.close();
    }
  }],
  ["without the CA: wss:// fails", async () => {
    const c = createClient({ url: server.wsUrl });
    try {
      await assert.rejects(c.execute("SELECT 1"), (e) => {
        console.log(`     (${String(e.message).slice(0, 160)})`);
        return /certificate/i.test(String(e.message));
      });
    } finally {
      c.close();
    }
  }],
  ["plain HTTP to the TLS port: a 400 in clear text, then the server still serves", async () => {
    const reply = await rawExchange("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.match(reply, /TLS/);
    const c = createClient({ url: server.httpUrl.replace("https://", "http://") });
    try {
      await assert.rejects(c.execute("SELECT 1"));
    } finally {
      c.close();
    }
    const { code, out } = await runChild();
    assert.equal(code, 0, out);
  }],
], async () => {
  const { code } = await server.stop();
  assert.equal(code, 0);
});
